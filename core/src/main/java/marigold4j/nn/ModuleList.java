package marigold4j.nn;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;

/** torch.nn.ModuleList: children named 0, 1, 2, ... */
public final class ModuleList<M extends Module> extends Module implements Iterable<M> {
  private final List<M> items = new ArrayList<>();

  public ModuleList() {}

  public ModuleList(List<M> modules) {
    modules.forEach(this::add);
  }

  public M add(M module) {
    child(Integer.toString(items.size()), module);
    items.add(module);
    return module;
  }

  public M get(int i) {
    return items.get(i);
  }

  public int size() {
    return items.size();
  }

  public boolean isEmpty() {
    return items.isEmpty();
  }

  @Override
  public Iterator<M> iterator() {
    return Collections.unmodifiableList(items).iterator();
  }
}
