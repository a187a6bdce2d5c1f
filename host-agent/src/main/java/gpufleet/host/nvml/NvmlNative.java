package gpufleet.host.nvml;

import com.sun.jna.Function;
import com.sun.jna.NativeLibrary;
import gpufleet.host.gpu.GpuUnavailableException;
import java.util.HashMap;
import java.util.Map;

/**
 * The loaded NVML library and its exported functions, looked up by their versioned names
 * (nvmlInit_v2, nvmlDeviceGetCount_v2, …): the header's #define aliases do not exist in the
 * binary. Optional functions are probed once; one that is missing is simply not there.
 */
final class NvmlNative {
    static final String[] REQUIRED = {
        "nvmlInit_v2", "nvmlShutdown", "nvmlErrorString", "nvmlDeviceGetCount_v2",
        "nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetUUID", "nvmlDeviceGetName", "nvmlDeviceGetMemoryInfo",
    };
    static final String[] OPTIONAL = {
        "nvmlSystemGetDriverVersion", "nvmlSystemGetCudaDriverVersion_v2", "nvmlSystemGetCudaDriverVersion",
        "nvmlDeviceGetSerial", "nvmlDeviceGetPciInfo_v3", "nvmlDeviceGetUtilizationRates", "nvmlDeviceGetTemperature",
        "nvmlDeviceGetPowerUsage", "nvmlDeviceGetEnforcedPowerLimit", "nvmlDeviceGetTotalEnergyConsumption",
        "nvmlDeviceGetEccMode", "nvmlDeviceGetTotalEccErrors", "nvmlDeviceGetRemappedRows", "nvmlDeviceGetMigMode",
        "nvmlDeviceGetMaxMigDeviceCount", "nvmlDeviceGetMigDeviceHandleByIndex", "nvmlDeviceGetTopologyCommonAncestor", "nvmlDeviceGetP2PStatus",
        "nvmlDeviceGetMemoryAffinity", "nvmlDeviceGetComputeRunningProcesses_v3", "nvmlEventSetCreate",
        "nvmlDeviceRegisterEvents", "nvmlDeviceGetSupportedEventTypes", "nvmlEventSetWait_v2", "nvmlEventSetFree",
    };

    private final String path;
    private final Map<String, Function> functions = new HashMap<>();

    NvmlNative(String path) {
        this.path = path;
        NativeLibrary lib;
        try {
            // RTLD_NOW | RTLD_LOCAL: NVML's own internal calls must bind to NVML, never to a
            // same-named symbol another library put in the global scope.
            lib = NativeLibrary.getInstance(path, java.util.Map.of(com.sun.jna.Library.OPTION_OPEN_FLAGS, 2));
        } catch (UnsatisfiedLinkError e) {
            throw new GpuUnavailableException("LibraryNotFound", "cannot load NVML from " + path + ": " + e.getMessage());
        }
        for (String name : REQUIRED) {
            Function f = lookup(lib, name);
            if (f == null) {
                throw new GpuUnavailableException("LibraryTooOld", path + " does not export " + name
                        + "; install a newer NVIDIA driver");
            }
            functions.put(name, f);
        }
        for (String name : OPTIONAL) {
            Function f = lookup(lib, name);
            if (f != null) {
                functions.put(name, f);
            }
        }
    }

    private static Function lookup(NativeLibrary lib, String name) {
        try {
            return lib.getFunction(name);
        } catch (UnsatisfiedLinkError e) {
            return null;
        }
    }

    String path() {
        return path;
    }

    boolean has(String name) {
        return functions.containsKey(name);
    }

    /** Calls an NVML function; returns its nvmlReturn_t. A missing optional function answers FUNCTION_NOT_FOUND. */
    int call(String name, Object... args) {
        Function f = functions.get(name);
        if (f == null) {
            return NvmlException.FUNCTION_NOT_FOUND;
        }
        return f.invokeInt(args);
    }

    String errorString(int code) {
        Function f = functions.get("nvmlErrorString");
        String s = (String) f.invoke(String.class, new Object[] {code});
        return s == null ? "unknown error" : s;
    }
}
