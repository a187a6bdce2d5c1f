package gpufleet.host.runtime;

import gpufleet.common.api.HostCondition;
import gpufleet.common.api.WorkloadSpec;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The container engine that runs tenant workloads. The real adapter is Docker
 * ({@code gpufleet.host.docker}); nothing of docker-java leaks past this interface. Every call
 * may be repeated: callers look before they act, since an engine may create a container even
 * when the call that asked for it reports an error.
 */
public interface ContainerRuntime extends AutoCloseable {
    /** Condition type reported for the runtime. */
    String CONDITION = "ContainerRuntimeReady";

    /**
     * Whether the engine answers and has the GPU runtime configured, as a host condition whose
     * message carries the engine's own words when something is wrong. Never throws.
     */
    HostCondition check();

    /**
     * Every container carrying all of these labels (key → value), in any state; the engine does
     * the filtering, so nothing else is ever read.
     */
    List<Observed> list(Map<String, String> labels) throws RuntimeFailure;

    /** One container, by id or exact name, as it is now (its network addresses included); empty when it does not exist. */
    java.util.Optional<Observed> inspect(String idOrName) throws RuntimeFailure;

    /** The image's ID ("sha256:…") when the engine has it; empty when it does not. */
    Optional<String> imageId(String image) throws RuntimeFailure;

    /** The IDs of every image the engine has. */
    java.util.Set<String> imageIds() throws RuntimeFailure;

    /**
     * Pulls the image, with {@code credential} (null: anonymously). Fails with ErrImagePull when
     * the registry refuses, whether or not an older copy is present.
     */
    void pull(String image, WorkloadSpec.PullSecret credential) throws RuntimeFailure;

    /**
     * The environment an image sets ("NAME=value", as its config holds it); empty when it sets
     * none. The image must be present.
     */
    List<String> imageEnv(String image) throws RuntimeFailure;

    /** The user the image runs as, as its config holds it ("name", "uid", "uid:gid"); empty: root. The image must be present. */
    String imageUser(String image) throws RuntimeFailure;

    /** Removes every volume (a pod's memory emptyDirs) carrying all of these labels; none is fine. No container may use them. */
    void removeVolumes(Map<String, String> labels) throws RuntimeFailure;

    /** Every network carrying all of these labels (key → value), with how many containers each has attached. */
    List<Network> networks(Map<String, String> labels) throws RuntimeFailure;

    /**
     * Creates a bridge network and returns its id. The engine may hold another of the same name
     * afterwards (names are not unique): callers look for networks by label and use them by id.
     */
    String createNetwork(String name, Map<String, String> labels, Map<String, String> options) throws RuntimeFailure;

    /** Removes a network that no container uses; one already gone is fine. */
    void removeNetwork(String id) throws RuntimeFailure;

    /** Creates a container; returns its id. */
    String create(Plan plan) throws RuntimeFailure;

    void start(String id) throws RuntimeFailure;

    /** Stops with SIGTERM, then SIGKILL after {@code graceSeconds}. Stopping a stopped container is fine. */
    void stop(String id, int graceSeconds) throws RuntimeFailure;

    /**
     * Runs a command in a running container (as {@code docker exec}, as the container's user) and
     * waits at most {@code timeout} for it to end; one still running then is killed, with what it
     * started. Fails when the container is not running.
     */
    ExecResult exec(String id, List<String> command, Duration timeout) throws RuntimeFailure;

    /** Bytes in the container's writable layer, as the engine measures it; 0 for one that no longer exists. */
    long writableBytes(String id) throws RuntimeFailure;

    /** Removes a container (forcefully); removing one already gone is fine. */
    void remove(String id) throws RuntimeFailure;

    @Override
    void close();
}
