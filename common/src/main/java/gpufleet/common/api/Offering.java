package gpufleet.common.api;

import gpufleet.common.Invalid;
import gpufleet.common.Quantity;
import java.util.regex.Pattern;

/**
 * What a RuntimeClass names: a GPU model and count with the cpu and memory a pod may use,
 * e.g. seeweb-nvidia-1xa6000 = 1 x "NVIDIA RTX A6000", cpu "8000m", memory "32861620Ki".
 * {@code ephemeralStorage} (optional): what one pod may write to its host's disk; the host evicts
 * a pod past it, whatever the pod's own limits say. {@code shmSize} (optional): the /dev/shm of a
 * pod that mounts no memory emptyDir there (at most the pod's memory), so that GPU training's data
 * loaders work without one; the engine's 64Mi when unset.
 */
public record Offering(String name, String gpuModel, Integer gpuCount, String cpu, String memory, String ephemeralStorage,
                       String shmSize) {
    public Offering(String name, String gpuModel, Integer gpuCount, String cpu, String memory) {
        this(name, gpuModel, gpuCount, cpu, memory, null, null);
    }

    public Offering(String name, String gpuModel, Integer gpuCount, String cpu, String memory, String ephemeralStorage) {
        this(name, gpuModel, gpuCount, cpu, memory, ephemeralStorage, null);
    }

    private static final Pattern NAME = Pattern.compile("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$");

    public Offering {
        Invalid.requiredText(name, "name", 63);
        Invalid.check(NAME.matcher(name).matches(), "name",
                "name '" + name + "' must be a DNS label (it becomes a RuntimeClass name)");
        Invalid.requiredText(gpuModel, "gpuModel", 96);
        Invalid.atLeast(gpuCount == null ? null : gpuCount.longValue(), 1, "gpuCount");
        Invalid.check(gpuCount <= 16, "gpuCount", "gpuCount must be at most 16, got " + gpuCount);
        Invalid.check(Quantity.cpuMillis(cpu, "cpu") > 0, "cpu", "cpu must be more than 0");
        Invalid.check(Quantity.bytes(memory, "memory") > 0, "memory", "memory must be more than 0");
        Invalid.check(ephemeralStorage == null || Quantity.bytes(ephemeralStorage, "ephemeralStorage") >= 1L << 20,
                "ephemeralStorage", "ephemeralStorage must be at least 1Mi");
        Invalid.check(shmSize == null || Quantity.bytes(shmSize, "shmSize") >= 1L << 20, "shmSize", "shmSize must be at least 1Mi");
        Invalid.check(shmSize == null || Quantity.bytes(shmSize, "shmSize") <= Quantity.bytes(memory, "memory"), "shmSize",
                "shmSize (" + shmSize + ") must be at most the offering's memory (" + memory + "): /dev/shm is memory");
    }

    public long cpuMillis() {
        return Quantity.cpuMillis(cpu, "cpu");
    }

    public long memoryBytes() {
        return Quantity.bytes(memory, "memory");
    }

    /** Null when the offering sets no bound of its own. */
    public Long ephemeralStorageBytes() {
        return ephemeralStorage == null ? null : Quantity.bytes(ephemeralStorage, "ephemeralStorage");
    }

    /** Null when the offering leaves /dev/shm to the engine's default. */
    public Long shmSizeBytes() {
        return shmSize == null ? null : Quantity.bytes(shmSize, "shmSize");
    }
}
