package gpufleet.host.runtime;

import java.time.Duration;

/**
 * What a pod may write on this host: its containers' writable layers together (measured every
 * {@code checkInterval}, the pod evicted past {@code podBytes} or its own limits), and each
 * container's log, rotated by Docker at {@code logMaxBytes} with {@code logMaxFiles} kept.
 */
public record DiskLimits(long podBytes, Duration checkInterval, long logMaxBytes, int logMaxFiles) {
    /** The host-agent's defaults: 100Gi per pod, measured every 10 s; logs at the kubelet's 10Mi x 5. */
    public static final DiskLimits DEFAULTS = new DiskLimits(100L << 30, Duration.ofSeconds(10), 10L << 20, 5);
}
