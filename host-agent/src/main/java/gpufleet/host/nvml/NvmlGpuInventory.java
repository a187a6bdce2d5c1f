package gpufleet.host.nvml;

import com.sun.jna.Pointer;
import com.sun.jna.ptr.LongByReference;
import com.sun.jna.ptr.PointerByReference;
import gpufleet.host.gpu.Gpu;
import gpufleet.host.gpu.GpuInventory;
import gpufleet.host.gpu.GpuSnapshot;
import gpufleet.host.gpu.GpuUnavailableException;
import gpufleet.host.gpu.HealthEvent;
import gpufleet.host.gpu.Xid;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** {@link GpuInventory} over NVML through JNA. */
public final class NvmlGpuInventory implements GpuInventory {
    private static final Logger log = LoggerFactory.getLogger(NvmlGpuInventory.class);
    private static final long XID_CRITICAL = 0x8L;
    private static final long DOUBLE_BIT_ECC = 0x2L;

    private final Nvml nvml;
    private volatile boolean initialized;
    /** Health is sticky: a GPU that raised a critical event stays unhealthy until the agent restarts. */
    private final Map<String, String> unhealthy = new ConcurrentHashMap<>();
    /** Last UUID seen at each index, to name a GPU that can no longer say its own UUID. */
    private final Map<Integer, String> uuidByIndex = new ConcurrentHashMap<>();
    private final Map<Long, String> uuidByHandle = new ConcurrentHashMap<>();
    private Pointer eventSet;

    /** Loads NVML from {@code libraryPath}; throws {@link GpuUnavailableException} when it cannot be loaded. */
    public NvmlGpuInventory(String libraryPath) {
        this.nvml = new Nvml(new NvmlNative(libraryPath));
    }

    private synchronized void ensureInit() {
        if (initialized) {
            return;
        }
        try {
            nvml.init();
            initialized = true;
        } catch (NvmlException e) {
            String reason = e.code() == NvmlException.DRIVER_NOT_LOADED ? "DriverNotLoaded" : "NvmlInitFailed";
            throw new GpuUnavailableException(reason, e.getMessage());
        }
    }

    @Override
    public GpuSnapshot sweep() {
        ensureInit();
        List<String> notes = new ArrayList<>();
        int count = nvml.deviceCount();
        Map<String, Pointer> handles = new LinkedHashMap<>();
        List<Gpu> gpus = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            Gpu gpu = read(i, handles, notes);
            if (gpu != null) {
                gpus.add(gpu);
            }
        }
        List<Gpu> withTopology = new ArrayList<>();
        for (Gpu g : gpus) {
            withTopology.add(withTopology(g, handles));
        }
        return new GpuSnapshot(nvml.driverVersion(), nvml.cudaVersion(), withTopology, notes);
    }

    private Gpu read(int index, Map<String, Pointer> handles, List<String> notes) {
        Pointer dev;
        try {
            dev = nvml.handle(index);
        } catch (NvmlException e) {
            if (e.code() == NvmlException.NO_PERMISSION) {
                String note = "GPU at index " + index + " skipped: " + e.getMessage();
                notes.add(note);
                log.warn(note);
                return null;
            }
            return lost(index, e, notes);
        }
        try {
            String uuid = nvml.uuid(dev);
            uuidByIndex.put(index, uuid);
            uuidByHandle.put(Pointer.nativeValue(dev), uuid);
            handles.put(uuid, dev);
            NvmlStructs.Memory mem = nvml.memory(dev);
            NvmlStructs.Utilization util = nvml.utilization(dev);
            List<NvmlStructs.ProcessInfo> procs = nvml.processes(dev);
            String reason = unhealthy.get(uuid);
            return new Gpu(uuid, index, nvml.name(dev), nvml.serial(dev), nvml.pciBusId(dev), mem.total, mem.used, mem.free,
                    util == null ? null : util.gpu, util == null ? null : util.memory, nvml.temperature(dev),
                    nvml.powerMilliwatts(dev), nvml.powerLimitMilliwatts(dev), nvml.energyMillijoules(dev),
                    nvml.eccEnabled(dev), nvml.eccUncorrected(dev, false), nvml.eccUncorrected(dev, true),
                    nvml.remappedRowsUncorrectable(dev), nvml.migEnabled(dev), nvml.migDevices(dev), nvml.numaNode(dev),
                    Map.of(), procs == null ? null : procs.stream()
                            .map(p -> new Gpu.GpuProcess(Integer.toUnsignedLong(p.pid), p.usedGpuMemory < 0 ? null : p.usedGpuMemory))
                            .toList(),
                    reason == null, reason);
        } catch (NvmlException e) {
            return lost(index, e, notes);
        }
    }

    /** A GPU that fails mid-read: unhealthy with NVML's words, named by the UUID it had before. */
    private Gpu lost(int index, NvmlException e, List<String> notes) {
        String uuid = uuidByIndex.get(index);
        String reason = e.code() == NvmlException.GPU_IS_LOST ? "GPU is lost: " + e.getMessage() : e.getMessage();
        if (uuid == null) {
            notes.add("GPU at index " + index + " unreadable and never identified: " + e.getMessage());
            return null;
        }
        unhealthy.putIfAbsent(uuid, reason);
        return new Gpu(uuid, index, "unknown", null, null, 0, null, null, null, null, null, null, null, null, null,
                null, null, null, null, List.of(), null, Map.of(), List.of(), false, unhealthy.get(uuid));
    }

    private Gpu withTopology(Gpu g, Map<String, Pointer> handles) {
        Pointer self = handles.get(g.uuid());
        if (self == null) {
            return g;
        }
        Map<String, String> topo = new LinkedHashMap<>();
        handles.forEach((uuid, other) -> {
            if (!uuid.equals(g.uuid())) {
                try {
                    String level = nvml.topology(self, other);
                    if (level != null) {
                        topo.put(uuid, level);
                    }
                } catch (NvmlException e) {
                    // One pair we cannot read is no reason to drop the others.
                }
            }
        });
        return new Gpu(g.uuid(), g.index(), g.name(), g.serial(), g.pciBusId(), g.memoryTotalBytes(), g.memoryUsedBytes(),
                g.memoryFreeBytes(), g.utilizationGpu(), g.utilizationMemory(), g.temperatureC(), g.powerMilliwatts(),
                g.powerLimitMilliwatts(), g.energyMillijoules(), g.eccEnabled(), g.eccUncorrectedVolatile(),
                g.eccUncorrectedAggregate(), g.remappedRowsUncorrectable(), g.migEnabled(), g.migDevices(), g.numaNode(),
                Map.copyOf(topo), g.processes(), g.healthy(), g.healthReason());
    }

    @Override
    public HealthEvent awaitHealthEvent(Duration timeout) {
        Pointer set = eventSet();
        if (set == null) {
            sleep(timeout);
            return null;
        }
        NvmlStructs.EventData data = new NvmlStructs.EventData();
        int rc = nvml.lib().call("nvmlEventSetWait_v2", set, data, (int) timeout.toMillis());
        if (rc == NvmlException.TIMEOUT) {
            return null;
        }
        if (rc != 0) {
            log.warn("nvmlEventSetWait_v2: {} (NVML error {})", nvml.lib().errorString(rc), rc);
            sleep(timeout);
            return null;
        }
        data.read();
        String uuid = uuidByHandle.get(Pointer.nativeValue(data.device));
        if (uuid == null) {
            return null;
        }
        String reason;
        Long xid = null;
        if ((data.eventType & XID_CRITICAL) != 0) {
            xid = data.eventData;
            if (!Xid.critical(data.eventData)) {
                log.info("gpu {}: {} ignored (caused by an application, not the GPU)", uuid, Xid.describe(data.eventData));
                return null;
            }
            reason = Xid.describe(data.eventData);
        } else if ((data.eventType & DOUBLE_BIT_ECC) != 0) {
            reason = "double-bit ECC error";
        } else {
            return null;
        }
        unhealthy.put(uuid, reason);
        log.warn("gpu {} is unhealthy: {}", uuid, reason);
        return new HealthEvent(uuid, xid, reason);
    }

    /** Creates the event set and registers every GPU for critical Xids and double-bit ECC, once. */
    private synchronized Pointer eventSet() {
        if (eventSet != null || !initialized || !nvml.lib().has("nvmlEventSetWait_v2")) {
            return eventSet;
        }
        PointerByReference set = new PointerByReference();
        if (nvml.lib().call("nvmlEventSetCreate", set) != 0) {
            return null;
        }
        for (int i = 0; i < nvml.deviceCount(); i++) {
            try {
                Pointer dev = nvml.handle(i);
                uuidByHandle.putIfAbsent(Pointer.nativeValue(dev), nvml.uuid(dev));
                LongByReference supported = new LongByReference();
                long mask = XID_CRITICAL | DOUBLE_BIT_ECC;
                if (nvml.lib().call("nvmlDeviceGetSupportedEventTypes", dev, supported) == 0) {
                    mask &= supported.getValue();
                }
                if (mask != 0) {
                    nvml.lib().call("nvmlDeviceRegisterEvents", dev, mask, set.getValue());
                }
            } catch (NvmlException e) {
                log.warn("GPU at index {} not watched for health events: {}", i, e.getMessage());
            }
        }
        eventSet = set.getValue();
        return eventSet;
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public synchronized void close() {
        if (eventSet != null) {
            nvml.lib().call("nvmlEventSetFree", eventSet);
            eventSet = null;
        }
        if (initialized) {
            nvml.shutdown();
            initialized = false;
        }
    }
}
