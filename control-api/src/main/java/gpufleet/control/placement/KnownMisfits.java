package gpufleet.control.placement;

import java.util.ArrayList;
import java.util.List;

/**
 * Requests already found not to fit during one placement pass. A request asking at least as much
 * of the same model as one that did not fit cannot fit either, so the pass skips it without
 * touching the database: many identical unplaceable pods cost one attempt, not one each.
 */
public final class KnownMisfits {
    private final List<Fit.Request> misfits = new ArrayList<>();

    public void add(Fit.Request r) {
        misfits.add(r);
    }

    /** Whether {@code r} asks at least what a known misfit asked, of the same GPU model. */
    public boolean covers(Fit.Request r) {
        for (Fit.Request m : misfits) {
            if (m.model().equals(r.model()) && r.gpus() >= m.gpus() && r.cpuMillis() >= m.cpuMillis()
                    && r.memoryBytes() >= m.memoryBytes()) {
                return true;
            }
        }
        return false;
    }
}
