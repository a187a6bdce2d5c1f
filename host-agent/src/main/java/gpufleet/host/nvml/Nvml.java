package gpufleet.host.nvml;

import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.LongByReference;
import com.sun.jna.ptr.PointerByReference;
import java.util.ArrayList;
import java.util.List;

/**
 * Typed NVML calls. Required reads throw {@link NvmlException}; optional reads return null when
 * the GPU or the library does not support them (NOT_SUPPORTED, a function the library lacks).
 */
final class Nvml {
    private static final int P2P_CAPS_INDEX_NVLINK = 2;

    private final NvmlNative lib;

    Nvml(NvmlNative lib) {
        this.lib = lib;
    }

    private void check(String call, int rc) {
        if (rc != 0) {
            throw new NvmlException(call, rc, lib.errorString(rc));
        }
    }

    /** True when the read succeeded, false when it is not supported; throws on any other error. */
    private boolean optional(String call, int rc) {
        if (rc == NvmlException.NOT_SUPPORTED || rc == NvmlException.FUNCTION_NOT_FOUND) {
            return false;
        }
        check(call, rc);
        return true;
    }

    void init() {
        check("nvmlInit_v2", lib.call("nvmlInit_v2"));
    }

    void shutdown() {
        lib.call("nvmlShutdown");
    }

    String driverVersion() {
        byte[] buf = new byte[80];
        return optional("nvmlSystemGetDriverVersion", lib.call("nvmlSystemGetDriverVersion", buf, buf.length))
                ? NvmlStructs.cString(buf) : null;
    }

    /** "12.4" from NVML's 12040. */
    String cudaVersion() {
        IntByReference v = new IntByReference();
        String name = lib.has("nvmlSystemGetCudaDriverVersion_v2") ? "nvmlSystemGetCudaDriverVersion_v2" : "nvmlSystemGetCudaDriverVersion";
        if (!optional(name, lib.call(name, v))) {
            return null;
        }
        return v.getValue() / 1000 + "." + v.getValue() % 1000 / 10;
    }

    int deviceCount() {
        IntByReference n = new IntByReference();
        check("nvmlDeviceGetCount_v2", lib.call("nvmlDeviceGetCount_v2", n));
        return n.getValue();
    }

    Pointer handle(int index) {
        PointerByReference h = new PointerByReference();
        check("nvmlDeviceGetHandleByIndex_v2", lib.call("nvmlDeviceGetHandleByIndex_v2", index, h));
        return h.getValue();
    }

    String uuid(Pointer dev) {
        return text("nvmlDeviceGetUUID", dev, 96, true);
    }

    String name(Pointer dev) {
        return text("nvmlDeviceGetName", dev, 96, true);
    }

    String serial(Pointer dev) {
        return text("nvmlDeviceGetSerial", dev, 30, false);
    }

    private String text(String call, Pointer dev, int size, boolean required) {
        byte[] buf = new byte[size];
        int rc = lib.call(call, dev, buf, size);
        if (required) {
            check(call, rc);
            return NvmlStructs.cString(buf);
        }
        return optional(call, rc) ? NvmlStructs.cString(buf) : null;
    }

    String pciBusId(Pointer dev) {
        NvmlStructs.PciInfo pci = new NvmlStructs.PciInfo();
        return optional("nvmlDeviceGetPciInfo_v3", lib.call("nvmlDeviceGetPciInfo_v3", dev, pci)) ? read(pci).busIdText() : null;
    }

    NvmlStructs.Memory memory(Pointer dev) {
        NvmlStructs.Memory m = new NvmlStructs.Memory();
        check("nvmlDeviceGetMemoryInfo", lib.call("nvmlDeviceGetMemoryInfo", dev, m));
        return read(m);
    }

    NvmlStructs.Utilization utilization(Pointer dev) {
        NvmlStructs.Utilization u = new NvmlStructs.Utilization();
        return optional("nvmlDeviceGetUtilizationRates", lib.call("nvmlDeviceGetUtilizationRates", dev, u)) ? read(u) : null;
    }

    Integer temperature(Pointer dev) {
        IntByReference t = new IntByReference();
        return optional("nvmlDeviceGetTemperature", lib.call("nvmlDeviceGetTemperature", dev, 0, t)) ? t.getValue() : null;
    }

    Long powerMilliwatts(Pointer dev) {
        return unsignedInt("nvmlDeviceGetPowerUsage", dev);
    }

    Long powerLimitMilliwatts(Pointer dev) {
        return unsignedInt("nvmlDeviceGetEnforcedPowerLimit", dev);
    }

    Long energyMillijoules(Pointer dev) {
        LongByReference e = new LongByReference();
        return optional("nvmlDeviceGetTotalEnergyConsumption", lib.call("nvmlDeviceGetTotalEnergyConsumption", dev, e)) ? e.getValue() : null;
    }

    private Long unsignedInt(String call, Pointer dev) {
        IntByReference v = new IntByReference();
        return optional(call, lib.call(call, dev, v)) ? Integer.toUnsignedLong(v.getValue()) : null;
    }

    Boolean eccEnabled(Pointer dev) {
        IntByReference current = new IntByReference();
        IntByReference pending = new IntByReference();
        return optional("nvmlDeviceGetEccMode", lib.call("nvmlDeviceGetEccMode", dev, current, pending)) ? current.getValue() == 1 : null;
    }

    /** Uncorrected (double-bit) ECC errors; {@code aggregate} false for volatile (since driver load). */
    Long eccUncorrected(Pointer dev, boolean aggregate) {
        LongByReference n = new LongByReference();
        return optional("nvmlDeviceGetTotalEccErrors", lib.call("nvmlDeviceGetTotalEccErrors", dev, 1, aggregate ? 1 : 0, n))
                ? n.getValue() : null;
    }

    Integer remappedRowsUncorrectable(Pointer dev) {
        IntByReference corr = new IntByReference();
        IntByReference unc = new IntByReference();
        IntByReference pending = new IntByReference();
        IntByReference failure = new IntByReference();
        return optional("nvmlDeviceGetRemappedRows", lib.call("nvmlDeviceGetRemappedRows", dev, corr, unc, pending, failure))
                ? unc.getValue() : null;
    }

    Boolean migEnabled(Pointer dev) {
        IntByReference current = new IntByReference();
        IntByReference pending = new IntByReference();
        return optional("nvmlDeviceGetMigMode", lib.call("nvmlDeviceGetMigMode", dev, current, pending)) ? current.getValue() == 1 : null;
    }

    /** UUIDs of the MIG devices carved out of this GPU (empty when MIG is off). */
    List<String> migDevices(Pointer dev) {
        List<String> out = new ArrayList<>();
        IntByReference max = new IntByReference();
        if (!optional("nvmlDeviceGetMaxMigDeviceCount", lib.call("nvmlDeviceGetMaxMigDeviceCount", dev, max))) {
            return out;
        }
        for (int i = 0; i < max.getValue(); i++) {
            PointerByReference mig = new PointerByReference();
            int rc = lib.call("nvmlDeviceGetMigDeviceHandleByIndex", dev, i, mig);
            if (rc == NvmlException.NOT_FOUND || rc == NvmlException.INVALID_ARGUMENT) {
                continue;
            }
            if (optional("nvmlDeviceGetMigDeviceHandleByIndex", rc)) {
                out.add(uuid(mig.getValue()));
            }
        }
        return out;
    }

    /**
     * How two GPUs are connected: NVLINK when NVML reports NVLink peer-to-peer between them,
     * otherwise the PCIe common ancestor: INTERNAL, SINGLE, MULTIPLE, HOSTBRIDGE, NODE, SYSTEM.
     */
    String topology(Pointer a, Pointer b) {
        IntByReference p2p = new IntByReference();
        if (lib.call("nvmlDeviceGetP2PStatus", a, b, P2P_CAPS_INDEX_NVLINK, p2p) == 0 && p2p.getValue() == 0) {
            return "NVLINK";
        }
        IntByReference level = new IntByReference();
        if (!optional("nvmlDeviceGetTopologyCommonAncestor", lib.call("nvmlDeviceGetTopologyCommonAncestor", a, b, level))) {
            return null;
        }
        return switch (level.getValue()) {
            case 0 -> "INTERNAL";
            case 10 -> "SINGLE";
            case 20 -> "MULTIPLE";
            case 30 -> "HOSTBRIDGE";
            case 40 -> "NODE";
            case 50 -> "SYSTEM";
            default -> "LEVEL_" + level.getValue();
        };
    }

    /** The NUMA node closest to the GPU's memory (lowest node in its affinity set). */
    Integer numaNode(Pointer dev) {
        long[] nodeSet = new long[1];
        if (!optional("nvmlDeviceGetMemoryAffinity", lib.call("nvmlDeviceGetMemoryAffinity", dev, 1, nodeSet, 0))) {
            return null;
        }
        return nodeSet[0] == 0 ? null : Long.numberOfTrailingZeros(nodeSet[0]);
    }

    List<NvmlStructs.ProcessInfo> processes(Pointer dev) {
        String call = "nvmlDeviceGetComputeRunningProcesses_v3";
        IntByReference count = new IntByReference(0);
        int rc = lib.call(call, dev, count, null);
        if (rc == 0) {
            return List.of();
        }
        if (rc != NvmlException.INSUFFICIENT_SIZE) {
            return optional(call, rc) ? List.of() : null;
        }
        int n = count.getValue() + 4; // processes may start between the two calls
        NvmlStructs.ProcessInfo[] infos = (NvmlStructs.ProcessInfo[]) new NvmlStructs.ProcessInfo().toArray(n);
        count.setValue(n);
        check(call, lib.call(call, dev, count, infos[0].getPointer()));
        List<NvmlStructs.ProcessInfo> out = new ArrayList<>();
        for (int i = 0; i < count.getValue(); i++) {
            infos[i].read();
            out.add(infos[i]);
        }
        return out;
    }

    private static <T extends com.sun.jna.Structure> T read(T s) {
        s.read();
        return s;
    }

    NvmlNative lib() {
        return lib;
    }
}
