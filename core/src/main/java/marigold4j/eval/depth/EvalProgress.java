package marigold4j.eval.depth;

/** Progress of a loop over a dataset's samples (the CLI shows a bar; libraries pass {@link #NONE}). */
public interface EvalProgress {
  /** Reports nothing. */
  EvalProgress NONE = new EvalProgress() {
    @Override
    public void start(String task, int total) {}

    @Override
    public void step() {}

    @Override
    public void finish() {}
  };

  void start(String task, int total);

  void step();

  void finish();
}
