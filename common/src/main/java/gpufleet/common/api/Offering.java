package gpufleet.common.api;

import gpufleet.common.Invalid;
import gpufleet.common.Quantity;
import java.util.regex.Pattern;

/**
 * What a RuntimeClass names: a GPU model and count with the cpu and memory a pod may use,
 * e.g. seeweb-nvidia-1xa6000 = 1 x "NVIDIA RTX A6000", cpu "8000m", memory "32861620Ki".
 */
public record Offering(String name, String gpuModel, Integer gpuCount, String cpu, String memory) {
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
    }

    public long cpuMillis() {
        return Quantity.cpuMillis(cpu, "cpu");
    }

    public long memoryBytes() {
        return Quantity.bytes(memory, "memory");
    }
}
