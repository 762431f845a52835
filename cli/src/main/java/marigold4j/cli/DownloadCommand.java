package marigold4j.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import marigold4j.hub.FileFilter;
import marigold4j.hub.HubClient;
import marigold4j.hub.ModelRef;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code marigold4j download ID}: fetches what a pipeline needs into the Hugging Face cache. */
@Command(name = "download", mixinStandardHelpOptions = true,
    description = {"Download a model from the Hugging Face Hub into the local cache (shared with the Python tools) "
        + "and print its folder.",
        "Only model_index.json, the components' configs and tokenizer files and the weights of one precision are "
        + "fetched. Interrupted downloads resume; every file is checked against the Hub's checksum.",
        "Environment: HF_TOKEN (gated or private models; else the token file `huggingface-cli login` writes), "
        + "HF_HUB_OFFLINE, HF_HUB_CACHE, HF_HOME, HF_ENDPOINT."})
public final class DownloadCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(paramLabel = "ID",
      description = "Model id on the Hugging Face Hub: org/name, or org/name@revision (branch, tag or commit).")
  String id;

  @Option(names = "--revision", paramLabel = "R",
      description = "Branch, tag or commit hash to download (default: main, or the @revision given in ID).")
  String revision;

  @Option(names = "--variant", paramLabel = "V",
      description = "Weight precision variant, e.g. fp16 (default: the full-precision weights). Components without "
          + "this variant get their full-precision weights.")
  String variant;

  @Mixin HubOptions hub;

  @Override
  public Integer call() {
    ModelRef ref = ModelRef.parse(id).orElseThrow(() -> new IllegalArgumentException("'" + id
        + "' is not a Hugging Face model id (org/name or org/name@revision)"));
    if (ref.revision() != null && revision != null && !ref.revision().equals(revision)) {
      throw new IllegalArgumentException("'" + id + "' names revision " + ref.revision() + " but --revision is "
          + revision);
    }
    Path snapshot = hub.client(spec.commandLine().getErr()).build().snapshot(ref.repoId(), ref.revisionOr(revision), FileFilter.pipeline(variant));
    spec.commandLine().getOut().println(snapshot);
    return 0;
  }
}
