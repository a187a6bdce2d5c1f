package gpufleet.common.api;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import com.fasterxml.jackson.databind.deser.std.StdDeserializer;
import gpufleet.common.ContainerLimits;
import gpufleet.common.Invalid;
import gpufleet.common.MountTargets;
import gpufleet.common.Names;
import gpufleet.common.Quantity;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A tenant pod as the provider runs it. Idempotent by {@code podUid}: sending the same pod again
 * returns the workload already made. Resources are per container; what the pod left out the
 * tenant-agent has filled from the RuntimeClass before sending.
 */
public record WorkloadSpec(
        String podUid,
        String namespace,
        String name,
        String offering,
        List<Container> containers,
        String restartPolicy,
        Long terminationGracePeriodSeconds,
        List<PullSecret> imagePullSecrets,
        List<Container> initContainers,
        PodSettings.PodSecurity securityContext,
        List<PodSettings.Volume> volumes,
        String hostname,
        String subdomain,
        List<PodSettings.HostAlias> hostAliases,
        Long activeDeadlineSeconds,
        String cluster) {

    public static final Set<String> RESTART_POLICIES = Set.of("Always", "OnFailure", "Never");

    public WorkloadSpec {
        Names.podUid(podUid, "podUid");
        Names.label(namespace, "namespace", 63);
        Names.subdomain(name, "name");
        Invalid.requiredText(offering, "offering", 63);
        Invalid.required(containers, "containers");
        Invalid.check(!containers.isEmpty(), "containers", "a pod needs at least one container");
        Invalid.check(containers.size() <= 16, "containers", "a pod has at most 16 containers");
        containers = List.copyOf(containers);
        Set<String> names = new HashSet<>();
        long cpu = 0;
        long memory = 0;
        for (int i = 0; i < containers.size(); i++) {
            Invalid.check(names.add(containers.get(i).name()), "containers[" + i + "].name",
                    "container name '" + containers.get(i).name() + "' is used twice");
            // Exact sums: totals that wrapped once passed the offering check while each container ran unlimited.
            cpu = sum(cpu, containers.get(i).resources().cpuMillis(), "containers[" + i + "].resources.cpu");
            memory = sum(memory, containers.get(i).resources().memoryBytes(), "containers[" + i + "].resources.memory");
        }
        restartPolicy = restartPolicy == null ? "Always" : restartPolicy;
        Invalid.check(RESTART_POLICIES.contains(restartPolicy), "restartPolicy",
                "restartPolicy must be Always, OnFailure or Never, got '" + restartPolicy + "'");
        terminationGracePeriodSeconds = terminationGracePeriodSeconds == null ? 30L : terminationGracePeriodSeconds;
        Invalid.check(terminationGracePeriodSeconds >= 0 && terminationGracePeriodSeconds <= 3600,
                "terminationGracePeriodSeconds", "terminationGracePeriodSeconds must be 0..3600");
        imagePullSecrets = imagePullSecrets == null ? List.of() : List.copyOf(imagePullSecrets);
        initContainers = initContainers == null ? List.of() : List.copyOf(initContainers);
        Invalid.check(initContainers.size() <= 16, "initContainers", "a pod has at most 16 init containers");
        for (int i = 0; i < initContainers.size(); i++) {
            Container c = initContainers.get(i);
            Invalid.check(names.add(c.name()), "initContainers[" + i + "].name", "container name '" + c.name() + "' is used twice");
            Invalid.check(c.restartPolicy() == null || c.restartPolicy().equals("Always"), "initContainers[" + i + "].restartPolicy",
                    "an init container's restartPolicy may only be Always (a sidecar), got '" + c.restartPolicy() + "'");
            boolean sidecar = "Always".equals(c.restartPolicy());
            Invalid.check(sidecar || c.livenessProbe() == null && c.readinessProbe() == null && c.startupProbe() == null
                    && c.lifecycle() == null, "initContainers[" + i + "]",
                    "an init container may have probes and lifecycle hooks only as a sidecar (restartPolicy: Always)");
        }
        for (int i = 0; i < containers.size(); i++) {
            Invalid.check(containers.get(i).restartPolicy() == null, "containers[" + i + "].restartPolicy",
                    "only init containers may set restartPolicy (sidecars)");
        }
        volumes = volumes == null ? List.of() : List.copyOf(volumes);
        Set<String> volumeNames = new HashSet<>();
        for (PodSettings.Volume v : volumes) {
            Invalid.check(volumeNames.add(v.name()), "volumes.name", "volume name '" + v.name() + "' is used twice");
        }
        List<Container> everyContainer = new ArrayList<>(initContainers);
        everyContainer.addAll(containers);
        for (Container c : everyContainer) {
            Set<String> paths = new HashSet<>();
            for (PodSettings.VolumeMount m : c.volumeMounts()) {
                Invalid.check(volumeNames.contains(m.name()), "volumeMounts.name", "container " + c.name()
                        + " mounts volume '" + m.name() + "', which the pod does not have");
                Invalid.check(paths.add(m.mountPath()), "volumeMounts.mountPath", "container " + c.name() + " mounts two volumes at "
                        + m.mountPath());
            }
        }
        if (hostname != null) {
            Names.label(hostname, "hostname", 63);
        }
        if (subdomain != null) {
            Names.label(subdomain, "subdomain", 63);
        }
        hostAliases = hostAliases == null ? List.of() : List.copyOf(hostAliases);
        Invalid.check(hostAliases.size() <= 64, "hostAliases", "at most 64 hostAliases");
        Invalid.check(activeDeadlineSeconds == null || activeDeadlineSeconds >= 1 && activeDeadlineSeconds <= 10L * 365 * 86_400,
                "activeDeadlineSeconds", "activeDeadlineSeconds must be 1..315360000");
        if (cluster != null) {
            Names.label(cluster, "cluster", 63);
        }
    }

    /** A pod of the fields every caller had before init containers, security and volumes came. */
    public WorkloadSpec(String podUid, String namespace, String name, String offering, List<Container> containers,
                        String restartPolicy, Long terminationGracePeriodSeconds, List<PullSecret> imagePullSecrets) {
        this(podUid, namespace, name, offering, containers, restartPolicy, terminationGracePeriodSeconds, imagePullSecrets,
                null, null, null, null, null, null, null, null);
    }

    /** Init containers first, in order, then the app containers. */
    public List<Container> allContainers() {
        List<Container> all = new ArrayList<>(initContainers);
        all.addAll(containers);
        return all;
    }

    /** The same pod with other containers and pull secrets (the control-api seals and opens their secret values). */
    public WorkloadSpec with(List<Container> initContainers, List<Container> containers, List<PullSecret> imagePullSecrets) {
        return new WorkloadSpec(podUid, namespace, name, offering, containers, restartPolicy, terminationGracePeriodSeconds,
                imagePullSecrets, initContainers, securityContext, volumes, hostname, subdomain, hostAliases, activeDeadlineSeconds,
                cluster);
    }

    /** The same pod, sent by the agent of the tenant's cluster {@code cluster}. */
    public WorkloadSpec inCluster(String cluster) {
        return new WorkloadSpec(podUid, namespace, name, offering, containers, restartPolicy, terminationGracePeriodSeconds,
                imagePullSecrets, initContainers, securityContext, volumes, hostname, subdomain, hostAliases, activeDeadlineSeconds,
                cluster);
    }

    /** The init containers that keep running beside the app containers (restartPolicy: Always). */
    public List<Container> sidecars() {
        return initContainers.stream().filter(c -> "Always".equals(c.restartPolicy())).toList();
    }

    /**
     * The pod's GPUs by Kubernetes' rule for effective requests: the app containers and sidecars
     * together, or the largest run-to-completion init container beside the sidecars started
     * before it, whichever is more. Init containers run on the GPUs the pod holds.
     */
    public int gpus() {
        return (int) effective(c -> (long) c.resources().gpus());
    }

    /** The pod's cpu, by the same rule, exactly (each container is capped, so the sum of at most 32 fits a long). */
    public long cpuMillis() {
        return effective(c -> c.resources().cpuMillis());
    }

    public long memoryBytes() {
        return effective(c -> c.resources().memoryBytes());
    }

    private long effective(java.util.function.ToLongFunction<Container> of) {
        long sidecars = 0;
        long most = 0;
        for (Container c : initContainers) {
            if ("Always".equals(c.restartPolicy())) {
                sidecars = Math.addExact(sidecars, of.applyAsLong(c));
            } else {
                most = Math.max(most, Math.addExact(sidecars, of.applyAsLong(c)));
            }
        }
        long running = sidecars;
        for (Container c : containers) {
            running = Math.addExact(running, of.applyAsLong(c));
        }
        return Math.max(most, running);
    }

    private static long sum(long total, long more, String field) {
        try {
            return Math.addExact(total, more);
        } catch (ArithmeticException e) {
            throw new Invalid(field, field + ": the pod's total does not fit a 64-bit number");
        }
    }

    /** One container. {@code env} is already resolved (ConfigMap and Secret references become values). */
    public record Container(String name, String image, String imagePullPolicy, List<String> command, List<String> args,
                            List<EnvVar> env, List<Port> ports, Resources resources, List<FileMount> files,
                            String workingDir, Boolean tty, Boolean stdin, String restartPolicy,
                            PodSettings.ContainerSecurity securityContext, List<PodSettings.VolumeMount> volumeMounts,
                            Probe livenessProbe, Probe readinessProbe, Probe startupProbe, Probe.Lifecycle lifecycle) {
        /** A container of the fields every caller had before security, volumes, probes and hooks came. */
        public Container(String name, String image, String imagePullPolicy, List<String> command, List<String> args,
                         List<EnvVar> env, List<Port> ports, Resources resources, List<FileMount> files, String workingDir,
                         Boolean tty, Boolean stdin) {
            this(name, image, imagePullPolicy, command, args, env, ports, resources, files, workingDir, tty, stdin,
                    null, null, null, null, null, null, null);
        }

        /** The same container with other env values and files (sealed or opened by the control-api). */
        public Container with(List<EnvVar> env, List<FileMount> files) {
            return new Container(name, image, imagePullPolicy, command, args, env, ports, resources, files, workingDir, tty, stdin,
                    restartPolicy, securityContext, volumeMounts, livenessProbe, readinessProbe, startupProbe, lifecycle);
        }

        public Container {
            Names.label(name, "name", 63);
            Invalid.requiredText(image, "image", 512);
            imagePullPolicy = imagePullPolicy == null ? (image.endsWith(":latest") || !image.contains(":") ? "Always" : "IfNotPresent") : imagePullPolicy;
            Invalid.check(Set.of("Always", "IfNotPresent", "Never").contains(imagePullPolicy), "imagePullPolicy",
                    "imagePullPolicy must be Always, IfNotPresent or Never, got '" + imagePullPolicy + "'");
            command = command == null ? List.of() : List.copyOf(command);
            args = args == null ? List.of() : List.copyOf(args);
            env = env == null ? List.of() : List.copyOf(env);
            ports = ports == null ? List.of() : List.copyOf(ports);
            Invalid.required(resources, "resources");
            files = files == null ? List.of() : List.copyOf(files);
            volumeMounts = volumeMounts == null ? List.of() : List.copyOf(volumeMounts);
            Invalid.check(volumeMounts.size() <= 64, "volumeMounts", "at most 64 volumeMounts per container");
            Invalid.check(livenessProbe == null || livenessProbe.successThreshold() == 1, "livenessProbe.successThreshold",
                    "livenessProbe.successThreshold must be 1");
            Invalid.check(startupProbe == null || startupProbe.successThreshold() == 1, "startupProbe.successThreshold",
                    "startupProbe.successThreshold must be 1");
            for (Probe p : Arrays.asList(livenessProbe, readinessProbe, startupProbe)) {
                Invalid.check(p == null || p.handler().sleepSeconds() == null, "probe", "a probe has no sleep handler");
            }
        }
    }

    public record EnvVar(String name, String value) {
        public EnvVar {
            Invalid.requiredText(name, "name", 256);
            value = value == null ? "" : value;
        }
    }

    public record Port(String name, Integer containerPort, String protocol) {
        public Port {
            Invalid.required(containerPort, "containerPort");
            Invalid.check(containerPort >= 1 && containerPort <= 65535, "containerPort", "containerPort must be 1..65535");
            protocol = protocol == null ? "TCP" : protocol;
            Invalid.check(Set.of("TCP", "UDP").contains(protocol), "protocol", "protocol must be TCP or UDP");
        }
    }

    /**
     * What one container gets: GPUs (a count), cpu and memory as Kubernetes quantities. Each is
     * capped far above any server the fleet offers (an offering's own limits are checked at
     * placement), so that the pod's sums and the host's conversions (cpu to nanocpus) cannot overflow.
     */
    public record Resources(@JsonDeserialize(using = WholeGpus.class) Integer gpus, String cpu, String memory,
                            String ephemeralStorage) {
        /** 4096 cores: twice the largest server sold today, yet 16 of them in nanocpus fit a long many times. */
        public static final long MAX_CPU_MILLIS = 4096L * 1000;
        /** 64Ti. */
        public static final long MAX_MEMORY_BYTES = 64L << 40;
        /** 1Pi: far above any disk, small enough that 16 of them sum exactly. */
        public static final long MAX_EPHEMERAL_STORAGE_BYTES = 1L << 50;

        /** Without an ephemeral-storage limit: the host's default for the pod applies. */
        public Resources(Integer gpus, String cpu, String memory) {
            this(gpus, cpu, memory, null);
        }

        public Resources {
            gpus = gpus == null ? 0 : gpus;
            Invalid.check(gpus >= 0 && gpus <= 16, "gpus", "gpus must be 0..16, got " + gpus);
            long millis = Quantity.cpuMillis(cpu, "cpu");
            Invalid.check(millis > 0, "cpu", "cpu must be more than 0");
            Invalid.check(millis <= MAX_CPU_MILLIS, "cpu", "cpu: '" + cpu + "' is more than one container may ask (at most "
                    + Quantity.cpu(MAX_CPU_MILLIS) + ")");
            long bytes = Quantity.bytes(memory, "memory");
            Invalid.check(bytes >= ContainerLimits.MIN_MEMORY_BYTES, "memory", "memory: '" + memory
                    + "' is less than 6Mi, the least memory Docker gives a container");
            Invalid.check(bytes <= MAX_MEMORY_BYTES, "memory", "memory: '" + memory + "' is more than one container may ask (at most "
                    + Quantity.memory(MAX_MEMORY_BYTES) + ")");
            if (ephemeralStorage != null) {
                long disk = Quantity.bytes(ephemeralStorage, "ephemeral-storage");
                Invalid.check(disk > 0 && disk <= MAX_EPHEMERAL_STORAGE_BYTES, "ephemeral-storage", "ephemeral-storage: '"
                        + ephemeralStorage + "' must be more than 0 and at most " + Quantity.memory(MAX_EPHEMERAL_STORAGE_BYTES));
            }
        }

        /** The container's ephemeral-storage limit in bytes; null when the pod set none. */
        public Long ephemeralStorageBytes() {
            return ephemeralStorage == null ? null : Quantity.bytes(ephemeralStorage, "ephemeral-storage");
        }

        public long cpuMillis() {
            return Quantity.cpuMillis(cpu, "cpu");
        }

        public long memoryBytes() {
            return Quantity.bytes(memory, "memory");
        }
    }

    /**
     * The GPU count as JSON gives it: a whole number. Jackson would otherwise cut 1.5 to 1 and place
     * a pod on fewer GPUs than it asked for; the API server likewise takes only integers for
     * extended resources.
     */
    public static final class WholeGpus extends StdDeserializer<Integer> {
        public WholeGpus() {
            super(Integer.class);
        }

        @Override
        public Integer deserialize(JsonParser p, DeserializationContext ctx) throws IOException {
            if (p.currentToken() == JsonToken.VALUE_NUMBER_INT) {
                return p.getIntValue(); // out of int range: Jackson refuses it, never wraps
            }
            if (p.currentToken() == JsonToken.VALUE_NUMBER_FLOAT) {
                throw JsonMappingException.from(p, "gpus must be a whole number, got " + p.getText()
                        + ": a GPU is not shared by fractions (extended resources must be integers)");
            }
            return (Integer) ctx.handleUnexpectedToken(Integer.class, p);
        }
    }

    /** A file from a ConfigMap or Secret: where it goes, its mode, its bytes (base64). */
    /**
     * One file a container sees. {@code volume}: the mount path of the ConfigMap, Secret, projected
     * or downwardAPI volume (mounted without subPath) it belongs to, whose files follow changes to
     * that object; a file whose {@code path} is the volume itself stands for the volume's directory
     * (there even while it holds no key, content empty). Null for a file mounted alone (a subPath),
     * which never changes, as from agents that came before volumes.
     */
    public record FileMount(String path, Integer mode, String contentBase64, String volume) {
        public FileMount(String path, Integer mode, String contentBase64) {
            this(path, mode, contentBase64, null);
        }

        public FileMount {
            Invalid.requiredText(path, "path", 1024);
            String refusal = MountTargets.refusal(path);
            Invalid.check(refusal == null, "path", "path '" + path + "' " + refusal);
            mode = mode == null ? 0644 : mode;
            Invalid.check(mode >= 0 && mode <= 0777, "mode", "mode must be 0..0777");
            Invalid.required(contentBase64, "contentBase64");
            if (volume != null) {
                String bad = MountTargets.volumeRefusal(volume, path);
                Invalid.check(bad == null, "volume", bad);
                Invalid.check(!path.equals(volume) || contentBase64.isEmpty(), "contentBase64",
                        "the directory of volume '" + volume + "' has no content");
            }
        }

        /** Whether this stands for its volume's directory, not a file in it. */
        public boolean volumeDirectory() {
            return path.equals(volume);
        }

        /** The same file with other content (sealed or opened by the control-api). */
        public FileMount withContent(String content) {
            return new FileMount(path, mode, content, volume);
        }
    }

    /** Credentials to pull images from one registry (from the pod's imagePullSecrets). */
    public record PullSecret(String registry, String username, String password) {
        public PullSecret {
            Invalid.requiredText(registry, "registry", 253);
            Invalid.required(username, "username");
            Invalid.required(password, "password");
        }

        @Override
        public String toString() {
            return "PullSecret[registry=" + registry + ", username=" + username + "]";
        }
    }
}
