package gpufleet.host.gpu;

import java.util.Map;
import java.util.Set;

/**
 * NVIDIA Xid error codes: which ones make a GPU unhealthy, and their meaning in words. Xids an
 * application causes by itself (bad memory access, a killed context…) say nothing about the GPU,
 * so, like NVIDIA's device plugin, we ignore them.
 */
public final class Xid {
    public static final Set<Long> APPLICATION_ERRORS = Set.of(13L, 31L, 43L, 45L, 68L, 109L);

    private static final Map<Long, String> MEANING = Map.ofEntries(
            Map.entry(48L, "double-bit ECC error"),
            Map.entry(61L, "internal micro-controller breakpoint"),
            Map.entry(62L, "internal micro-controller halt"),
            Map.entry(63L, "ECC page retirement or row remapping event"),
            Map.entry(64L, "ECC page retirement or row remapping failure"),
            Map.entry(74L, "NVLink error"),
            Map.entry(79L, "GPU has fallen off the bus"),
            Map.entry(92L, "high single-bit ECC error rate"),
            Map.entry(94L, "contained ECC error"),
            Map.entry(95L, "uncontained ECC error"),
            Map.entry(119L, "GSP RPC timeout"),
            Map.entry(120L, "GSP error"));

    private Xid() {}

    public static boolean critical(long xid) {
        return !APPLICATION_ERRORS.contains(xid);
    }

    /** "Xid 79: GPU has fallen off the bus", or "Xid 150" when we do not know its meaning. */
    public static String describe(long xid) {
        String meaning = MEANING.get(xid);
        return meaning == null ? "Xid " + xid : "Xid " + xid + ": " + meaning;
    }
}
