package marigold4j.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import marigold4j.prep.HypersimPreprocessor;
import marigold4j.prep.VkittiNormalsPreprocessor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code marigold4j prepare}: turns the downloaded training datasets into what the training loaders read. */
@Command(name = "prepare", mixinStandardHelpOptions = true,
    description = {"Prepare the training datasets (run once before `marigold4j train`).",
        "Re-running skips files that are already done; unreadable inputs are reported and the run goes on "
            + "(the exit code is 1 when anything failed)."},
    subcommands = {PrepareCommand.Hypersim.class, PrepareCommand.VkittiNormals.class})
public final class PrepareCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** {@code prepare hypersim}: Marigold's preprocess_hypersim.py. */
  @Command(name = "hypersim", mixinStandardHelpOptions = true,
      description = {"Hypersim: tone-map the HDR colour to 8-bit RGB PNGs and convert the distance maps to 16-bit "
          + "planar-depth PNGs in millimetres, with per-split filename lists and meta csv files "
          + "(Marigold's preprocess_hypersim.py).",
          "Also copies downloaded normal_cam.png previews into <output>/normals/, the layout the training loader "
              + "reads."})
  static final class Hypersim implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--raw-dir", paramLabel = "DIR", defaultValue = "data/hypersim/raw_data",
        description = "Hypersim's raw download (<scene>/images/scene_<cam>_final_hdf5/...). Default: ${DEFAULT-VALUE}.")
    Path rawDir;

    @Option(names = "--split-csv", paramLabel = "FILE", defaultValue = "data/hypersim/metadata_images_split_scene_v1.csv",
        description = "Hypersim's scene split file. Default: ${DEFAULT-VALUE}.")
    Path splitCsv;

    @Option(names = "--output", paramLabel = "DIR", defaultValue = "data/hypersim/processed",
        description = "Where <split>/<scene>/rgb_*.png, depth_plane_*.png and the lists are written. "
            + "Default: ${DEFAULT-VALUE}.")
    Path output;

    @Option(names = "--normals-from", paramLabel = "DIR",
        description = "Where Hypersim's download.py put the <scene>/images/scene_<cam>_geometry_preview/"
            + "frame.<ffff>.normal_cam.png files (copied to <output>/normals/). Default: the --raw-dir.")
    Path normalsFrom;

    @Option(names = "--no-normals", description = "Do not look for or copy normal_cam.png files.")
    boolean noNormals;

    @Option(names = "--threads", paramLabel = "N", defaultValue = "1",
        description = "Frames processed in parallel (each needs about 60 MB). Default: ${DEFAULT-VALUE}.")
    int threads;

    @Override
    public Integer call() {
      if (!Files.isDirectory(rawDir)) throw new IllegalArgumentException(rawDir + ": no such folder (--raw-dir)");
      if (!Files.isRegularFile(splitCsv)) {
        throw new IllegalArgumentException(splitCsv + ": no such file (--split-csv)");
      }
      Path normals = noNormals ? null : (normalsFrom != null ? normalsFrom : rawDir);
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      Progress[] bar = new Progress[1];
      HypersimPreprocessor.Report r = new HypersimPreprocessor(
          new HypersimPreprocessor.Options(rawDir, splitCsv, output, normals, threads))
          .run(new HypersimPreprocessor.Listener() {
            @Override
            public void splitStarted(String split, int frames) {
              if (bar[0] != null) bar[0].close();
              bar[0] = Progress.start("hypersim " + split, frames, " frames", out);
            }

            @Override
            public void frameDone(String split, String frame, boolean skipped) {
              bar[0].step(frame + (skipped ? " (done before)" : ""));
            }

            @Override
            public void frameFailed(String split, String frame, String reason) {
              bar[0].step(frame + Progress.FAILED);
              err.println("error: " + reason);
              err.flush();
            }
          });
      if (bar[0] != null) bar[0].close();
      out.printf("hypersim: %d frame(s) written, %d already done, %d failed -> %s%n", r.processed(), r.skipped(),
          r.failures().size(), output);
      if (normals != null) {
        out.printf("normals: %d normal_cam.png copied, %d frame(s) without one under %s%n", r.normalsCopied(),
            r.normalsMissing(), normals);
      }
      out.flush();
      return summary(err, r.failures());
    }
  }

  /** {@code prepare vkitti-normals}: the DAG normals of gen_vkitti_normals.py. */
  @Command(name = "vkitti-normals", mixinStandardHelpOptions = true,
      description = "Virtual KITTI 2: surface normals from the depth maps with discontinuity-aware gradient filters "
          + "and MRF refinement (d2nt_v3, as gen_vkitti_normals.py), written as 16-bit PNGs to "
          + "<vkitti-dir>/vkitti_DAG_normals/.")
  static final class VkittiNormals implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--vkitti-dir", paramLabel = "DIR", defaultValue = "data/virtual_kitti_2",
        description = "The Virtual KITTI 2 folder holding vkitti_2.0.3_rgb/ and vkitti_2.0.3_depth/. "
            + "Default: ${DEFAULT-VALUE}.")
    Path vkittiDir;

    @Option(names = "--threads", paramLabel = "N", defaultValue = "1",
        description = "Frames processed in parallel. Default: ${DEFAULT-VALUE}.")
    int threads;

    @Override
    public Integer call() {
      if (!Files.isDirectory(vkittiDir)) {
        throw new IllegalArgumentException(vkittiDir + ": no such folder (--vkitti-dir)");
      }
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      Progress[] bar = new Progress[1];
      VkittiNormalsPreprocessor.Report r = new VkittiNormalsPreprocessor(vkittiDir, threads)
          .run(new VkittiNormalsPreprocessor.Listener() {
            @Override
            public void started(int frames) {
              bar[0] = Progress.start("vkitti normals", frames, " frames", out);
            }

            @Override
            public void frameDone(VkittiNormalsPreprocessor.FrameFiles frame, boolean skipped) {
              bar[0].step(vkittiDir.relativize(frame.normal()) + (skipped ? " (done before)" : ""));
            }

            @Override
            public void frameFailed(VkittiNormalsPreprocessor.FrameFiles frame, String reason) {
              bar[0].step(vkittiDir.relativize(frame.depth()) + Progress.FAILED);
              err.println("error: " + reason);
              err.flush();
            }
          });
      if (bar[0] != null) bar[0].close();
      out.printf("vkitti normals: %d written, %d already done, %d failed -> %s%n", r.processed(), r.skipped(),
          r.failures().size(), vkittiDir.resolve(VkittiNormalsPreprocessor.OUTPUT_FOLDER));
      out.flush();
      return summary(err, r.failures());
    }
  }

  private static int summary(PrintWriter err, List<String> failures) {
    if (failures.isEmpty()) return 0;
    err.printf("error: %d input(s) could not be processed (listed above); fix them and re-run to finish%n",
        failures.size());
    err.flush();
    return 1;
  }
}
