package marigold4j.nn;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.function.BiConsumer;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import org.bytedeco.pytorch.Tensor;

/**
 * A tree of named parameters, mirroring torch.nn.Module's attribute paths so that a state dict key such as
 * {@code down_blocks.0.attentions.1.transformer_blocks.0.attn1.to_q.weight} addresses a parameter directly.
 *
 * <p>Subclasses register parameters and children in their constructors, in the order PyTorch registers them (that
 * order is what {@code state_dict()} lists), then implement their own {@code forward}.
 *
 * <p>Intermediate activations (for tests and debugging) are reported through the tree as well: a {@link #hook} on a
 * module makes every {@link #report} inside its subtree reach the hook's sink under the reporting module's attribute
 * path, the way the reference's forward hooks name module outputs (tuple outputs flattened as {@code .0, .1, ...}).
 * Without a hook a report costs a null check.
 */
public abstract class Module implements AutoCloseable {
  private final Map<String, Parameter> params = new LinkedHashMap<>();
  private final Map<String, Module> children = new LinkedHashMap<>();
  /** Non-null while a {@link Hook} on this module or an ancestor is open: the hook and this module's path prefix. */
  private Reporter reporter;

  protected final Parameter parameter(String name, long... shape) {
    return register(name, new Parameter(shape, Parameter.Kind.PARAMETER));
  }

  protected final Parameter buffer(String name, boolean persistent, long... shape) {
    return register(name, new Parameter(shape,
        persistent ? Parameter.Kind.BUFFER : Parameter.Kind.NON_PERSISTENT_BUFFER));
  }

  private Parameter register(String name, Parameter p) {
    if (params.containsKey(name) || children.containsKey(name)) throw new IllegalStateException("duplicate " + name);
    params.put(name, p);
    return p;
  }

  /** Registers a child module under {@code name}; {@code null} registers nothing (an absent optional layer). */
  protected final <M extends Module> M child(String name, M module) {
    if (module == null) return null;
    if (params.containsKey(name) || children.containsKey(name)) throw new IllegalStateException("duplicate " + name);
    children.put(name, module);
    return module;
  }

  /**
   * Installs {@code sink} on this module's subtree until the returned hook is closed: every {@link #report} of a
   * module in the subtree then delivers its value to {@code sink}, named by the module's attribute path relative to
   * this module followed by the reported name (e.g. {@code down_blocks.0.attentions.0.transformer_blocks.1}). The
   * values are live tensors of the forward pass: copy or retain them if they must outlive the caller's
   * {@code PointerScope}. While a hook is open, forward passes keep reported intermediates alive instead of freeing
   * them once consumed ({@link #reporting}).
   *
   * <p>A hook is state of the module tree, not of one call: every forward pass through the subtree reports while it
   * is open, whichever thread runs it. Install it on the thread that runs the forward pass and close it before the
   * modules are shared. Modules added to the subtree after installation do not report.
   *
   * @throws IllegalStateException if a module of the subtree already reports to an open hook
   */
  public final Hook hook(BiConsumer<String, Tensor> sink) {
    Objects.requireNonNull(sink, "sink");
    Hook hook = new Hook(this, sink);
    visit("", (prefix, m) -> {
      if (m.reporter != null) {
        throw new IllegalStateException((prefix.isEmpty() ? "this module" : "module " + prefix)
            + " already reports to a hook");
      }
    });
    visit("", (prefix, m) -> m.reporter = new Reporter(hook, prefix));
    return hook;
  }

  /**
   * Whether values reported here reach a sink (a {@link #hook} is open and not {@linkplain #unreported paused}).
   * While they do, a forward pass keeps every reported value alive until its scope closes (the sink may hold on to
   * them); otherwise it may free intermediates as soon as they are consumed.
   */
  protected final boolean reporting() {
    Reporter r = reporter;
    return r != null && r.hook.live();
  }

  /** Reports {@code value} under this module's path followed by {@code name} (e.g. the output of child {@code name}). */
  protected final void report(String name, Tensor value) {
    Reporter r = reporter;
    if (r != null && r.hook.live()) r.hook.sink.accept(r.prefix + name, value);
  }

  /** Reports {@code value} as the output of child {@code index} of the module list {@code name}. */
  protected final void report(String name, int index, Tensor value) {
    Reporter r = reporter;
    if (r != null && r.hook.live()) r.hook.sink.accept(r.prefix + name + "." + index, value);
  }

  /**
   * Runs {@code body} with the hook this module reports to paused (nothing in its tree reports, and
   * {@link #reporting} is false): for a recomputation whose values were already reported.
   */
  protected final <T> T unreported(Supplier<T> body) {
    Reporter r = reporter;
    if (r == null) return body.get();
    r.hook.paused++;
    try {
      return body.get();
    } finally {
      r.hook.paused--;
    }
  }

  /** An open {@link Module#hook}; {@link #close} removes it from the modules it was installed on. */
  public static final class Hook implements AutoCloseable {
    private final Module root;
    private final BiConsumer<String, Tensor> sink;
    private int paused;

    private Hook(Module root, BiConsumer<String, Tensor> sink) {
      this.root = root;
      this.sink = sink;
    }

    private boolean live() {
      return paused == 0;
    }

    /** Uninstalls the hook; idempotent. */
    @Override
    public void close() {
      root.visit("", (prefix, m) -> {
        if (m.reporter != null && m.reporter.hook == this) m.reporter = null;
      });
    }
  }

  private record Reporter(Hook hook, String prefix) {}

  /** Calls {@code action} on this module and every descendant with its path prefix ({@code ""} or {@code "a.b."}). */
  private void visit(String prefix, BiConsumer<String, Module> action) {
    action.accept(prefix, this);
    children.forEach((n, c) -> c.visit(prefix + n + ".", action));
  }

  /** Every parameter and buffer below this module, keyed by its dotted path, in registration order. */
  public final Map<String, Parameter> namedParameters() {
    Map<String, Parameter> out = new LinkedHashMap<>();
    collect("", out);
    return Collections.unmodifiableMap(out);
  }

  private void collect(String prefix, Map<String, Parameter> out) {
    params.forEach((n, p) -> out.put(prefix + n, p));
    children.forEach((n, c) -> c.collect(prefix + n + ".", out));
  }

  /** Entries a state dict holds: parameters and persistent buffers. */
  public final Map<String, Parameter> stateDictSlots() {
    Map<String, Parameter> out = new LinkedHashMap<>();
    namedParameters().forEach((k, p) -> {
      if (p.kind() != Parameter.Kind.NON_PERSISTENT_BUFFER) out.put(k, p);
    });
    return out;
  }

  /** Number of trainable parameters (buffers excluded), as diffusers' num_parameters() counts them. */
  public final long numParameters() {
    long n = 0;
    for (Parameter p : namedParameters().values()) if (p.kind() == Parameter.Kind.PARAMETER) n += p.numel();
    return n;
  }

  /**
   * Renames legacy checkpoint keys to this module's current names before strict loading (for example the
   * {@code query/key/value/proj_attn} attention names of old VAE files). The default keeps keys as they are.
   */
  public UnaryOperator<String> legacyKeyMapper() {
    return UnaryOperator.identity();
  }

  /**
   * Adapts a tensor stored under a legacy key to the current layout (e.g. a 1x1 conv weight to a linear weight).
   * The default returns it unchanged.
   */
  public Tensor adaptLegacyTensor(String key, Tensor t) {
    return t;
  }

  /**
   * Moves every loaded tensor to {@code device} and converts floating-point ones to {@code dtype} (integer buffers
   * keep their type), in place: Java references to this module stay valid.
   */
  public void to(org.bytedeco.pytorch.Device device, org.bytedeco.pytorch.global.torch.ScalarType dtype) {
    for (Parameter p : namedParameters().values()) {
      if (!p.isLoaded()) continue;
      Tensor t = p.get();
      p.set(t.is_floating_point() ? t.to(device, dtype) : t.to(device, marigold4j.torch.Tensors.dtype(t)));
    }
  }

  /** Standard deviation of the random weights {@link #initRandom} draws (transformers' {@code initializer_range}). */
  public static final double INIT_STD = 0.02;

  /**
   * Fills every parameter and persistent buffer with random values, replacing any loaded tensor: weights (two or
   * more dimensions, e.g. linear, convolution, embedding) from normal(0, {@link #INIT_STD}), one-dimensional
   * {@code weight}s (the norm scales) with ones, biases and buffers with zeros, any other parameter from the normal.
   * Non-persistent buffers are left alone (the models compute them). The values are drawn in fp32 in registration
   * order from a private generator seeded with {@code seed} (the global generator is untouched), so a seed gives
   * the same model in every precision, up to rounding. For benchmarks and tests that need a model of the real size
   * without downloading one.
   */
  public final void initRandom(long seed, org.bytedeco.pytorch.Device device,
      org.bytedeco.pytorch.global.torch.ScalarType dtype) {
    org.bytedeco.pytorch.Generator gen = marigold4j.torch.F.generator(seed);
    for (Map.Entry<String, Parameter> e : namedParameters().entrySet()) {
      Parameter p = e.getValue();
      if (p.kind() == Parameter.Kind.NON_PERSISTENT_BUFFER) continue;
      String name = e.getKey().substring(e.getKey().lastIndexOf('.') + 1);
      long[] shape = p.shape();
      // one scope per tensor: the fp32 draw is freed before the next one, so peak memory is the model's own size
      try (org.bytedeco.javacpp.PointerScope scope = new org.bytedeco.javacpp.PointerScope()) {
        Tensor t;
        if (p.kind() == Parameter.Kind.BUFFER || name.equals("bias")) {
          t = org.bytedeco.pytorch.global.torch.zeros(shape);
        } else if (name.equals("weight") && shape.length == 1) {
          t = org.bytedeco.pytorch.global.torch.ones(shape);
        } else {
          t = marigold4j.torch.F.normal(0.0, INIT_STD, shape, gen);
        }
        p.set(t.to(device, dtype));
      }
    }
    gen.close();
  }

  /** Releases every loaded tensor of this module tree. */
  @Override
  public void close() {
    namedParameters().values().forEach(Parameter::release);
  }
}
