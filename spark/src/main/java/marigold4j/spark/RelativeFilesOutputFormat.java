package marigold4j.spark;

import java.io.IOException;
import org.apache.hadoop.fs.ChecksumFileSystem;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.io.BytesWritable;
import org.apache.hadoop.io.Text;
import org.apache.hadoop.mapreduce.JobContext;
import org.apache.hadoop.mapreduce.RecordWriter;
import org.apache.hadoop.mapreduce.TaskAttemptContext;
import org.apache.hadoop.mapreduce.lib.output.FileOutputCommitter;
import org.apache.hadoop.mapreduce.lib.output.FileOutputFormat;

/**
 * Writes each record (relative file name, bytes) as one file, under the task attempt's work folder of the
 * {@link FileOutputCommitter}: Spark's commit protocol moves a task's files into the output folder only when the task
 * commits, and a failed or killed attempt's folder is deleted, so retried tasks leave neither duplicates nor partial
 * files. An existing output folder is accepted (re-runs add to it; a file written again is replaced).
 */
public final class RelativeFilesOutputFormat extends FileOutputFormat<Text, BytesWritable> {
  @Override
  public RecordWriter<Text, BytesWritable> getRecordWriter(TaskAttemptContext job) throws IOException {
    Path work = ((FileOutputCommitter) getOutputCommitter(job)).getWorkPath();
    FileSystem checked = work.getFileSystem(job.getConfiguration());
    // no .crc side files beside predict's files on local disks (the checksum file system writes them)
    FileSystem fs = checked instanceof ChecksumFileSystem c ? c.getRawFileSystem() : checked;
    return new RecordWriter<>() {
      @Override
      public void write(Text name, BytesWritable data) throws IOException {
        try (FSDataOutputStream out = fs.create(new Path(work, name.toString()), true)) {
          out.write(data.getBytes(), 0, data.getLength());
        }
      }

      @Override
      public void close(TaskAttemptContext context) {}
    };
  }

  /** Only that an output folder is set: unlike {@link FileOutputFormat}, an existing folder is fine. */
  @Override
  public void checkOutputSpecs(JobContext job) throws IOException {
    if (getOutputPath(job) == null) throw new IOException("no output folder set");
  }
}
