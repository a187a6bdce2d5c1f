package gpufleet.host.runtime;

import gpufleet.common.api.HostCondition;

/**
 * The container engine that runs tenant workloads. The real adapter is Docker
 * ({@code gpufleet.host.docker}); nothing of docker-java leaks past this interface.
 */
public interface ContainerRuntime extends AutoCloseable {
    /** Condition type reported for the runtime. */
    String CONDITION = "ContainerRuntimeReady";

    /**
     * Whether the engine answers and has the GPU runtime configured, as a host condition whose
     * message carries the engine's own words when something is wrong. Never throws.
     */
    HostCondition check();

    @Override
    void close();
}
