package gpufleet.host.metrics;

import gpufleet.host.gpu.Gpu;
import gpufleet.host.gpu.GpuSnapshot;
import gpufleet.host.workload.WorkloadLoop.GpuHolder;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * GPU metrics in Prometheus text format under DCGM-exporter's names and labels, so dashboards
 * built for dcgm-exporter work unchanged. Units follow DCGM: MiB for framebuffer, W for power,
 * mJ for energy. An allocated GPU's series also carry {@code namespace}, {@code pod} and
 * {@code container}, as dcgm-exporter's Kubernetes mode adds them, and {@code tenant}: the pod is
 * the tenant's, in the tenant's cluster. Those values are the tenant's words, so each is escaped
 * as the text format requires (backslash, double quote, newline).
 */
public final class DcgmMetrics {
    private record Field(String name, String type, String help, Function<Gpu, Number> value) {}

    private static final Field[] FIELDS = {
        new Field("DCGM_FI_DEV_GPU_UTIL", "gauge", "GPU utilization (in %).", Gpu::utilizationGpu),
        new Field("DCGM_FI_DEV_MEM_COPY_UTIL", "gauge", "Memory utilization (in %).", Gpu::utilizationMemory),
        new Field("DCGM_FI_DEV_GPU_TEMP", "gauge", "GPU temperature (in C).", Gpu::temperatureC),
        new Field("DCGM_FI_DEV_POWER_USAGE", "gauge", "Power draw (in W).",
                g -> g.powerMilliwatts() == null ? null : g.powerMilliwatts() / 1000.0),
        new Field("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "counter", "Total energy consumption since boot (in mJ).",
                Gpu::energyMillijoules),
        new Field("DCGM_FI_DEV_FB_FREE", "gauge", "Framebuffer memory free (in MiB).",
                g -> g.memoryFreeBytes() == null ? null : g.memoryFreeBytes() >> 20),
        new Field("DCGM_FI_DEV_FB_USED", "gauge", "Framebuffer memory used (in MiB).",
                g -> g.memoryUsedBytes() == null ? null : g.memoryUsedBytes() >> 20),
        new Field("DCGM_FI_DEV_ECC_DBE_VOL_TOTAL", "counter", "Total number of double-bit volatile ECC errors.",
                Gpu::eccUncorrectedVolatile),
        new Field("DCGM_FI_DEV_ECC_DBE_AGG_TOTAL", "counter", "Total number of double-bit persistent ECC errors.",
                Gpu::eccUncorrectedAggregate),
        new Field("DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS", "counter", "Number of remapped rows for uncorrectable errors.",
                Gpu::remappedRowsUncorrectable),
    };

    private final String hostname;
    private final Map<String, Long> lastXid = new ConcurrentHashMap<>();

    public DcgmMetrics(String hostname) {
        this.hostname = hostname;
    }

    public void xid(String uuid, long xid) {
        lastXid.put(uuid, xid);
    }

    /** The metrics of {@code snapshot}'s GPUs; {@code holders} names who holds each allocated GPU, by UUID. */
    public String render(GpuSnapshot snapshot, Map<String, GpuHolder> holders) {
        StringBuilder out = new StringBuilder();
        if (snapshot == null) {
            return out.toString();
        }
        for (Field f : FIELDS) {
            out.append("# HELP ").append(f.name()).append(' ').append(f.help()).append('\n');
            out.append("# TYPE ").append(f.name()).append(' ').append(f.type()).append('\n');
            for (Gpu g : snapshot.gpus()) {
                Number v = f.value().apply(g);
                if (v != null) {
                    sample(out, f.name(), g, holders.get(g.uuid()), v);
                }
            }
        }
        out.append("# HELP DCGM_FI_DEV_XID_ERRORS Value of the last XID error encountered.\n");
        out.append("# TYPE DCGM_FI_DEV_XID_ERRORS gauge\n");
        for (Gpu g : snapshot.gpus()) {
            sample(out, "DCGM_FI_DEV_XID_ERRORS", g, holders.get(g.uuid()), lastXid.getOrDefault(g.uuid(), 0L));
        }
        return out.toString();
    }

    private void sample(StringBuilder out, String name, Gpu g, GpuHolder holder, Number v) {
        out.append(name).append("{gpu=\"").append(g.index()).append("\",UUID=\"").append(escape(g.uuid()))
                .append("\",pci_bus_id=\"").append(escape(g.pciBusId() == null ? "" : g.pciBusId()))
                .append("\",device=\"nvidia").append(g.index()).append("\",modelName=\"").append(escape(g.name()))
                .append("\",Hostname=\"").append(escape(hostname)).append('"');
        if (holder != null) {
            out.append(",container=\"").append(escape(holder.container())).append("\",namespace=\"").append(escape(holder.namespace()))
                    .append("\",pod=\"").append(escape(holder.pod())).append("\",tenant=\"").append(escape(holder.tenant())).append('"');
        }
        out.append("} ");
        out.append(v instanceof Double d ? String.format(Locale.ROOT, "%.3f", d) : v.toString()).append('\n');
    }

    /** The text format's escaping of a label value: backslash first, then double quote and newline. */
    static String escape(String s) {
        return s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }
}
