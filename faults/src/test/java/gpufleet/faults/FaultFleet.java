package gpufleet.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gpufleet.control.support.Http;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A whole control plane as separate processes: a PostgreSQL cluster of its own, two control-api
 * replicas on it, and host-agents on the simulated NVML (8 x A6000 each) on the real Docker
 * Engine. One tenant with the seed's 1-GPU offering.
 */
final class FaultFleet implements AutoCloseable {
    static final String OPERATOR = "gfo_faults-" + Long.toHexString(new SecureRandom().nextLong());
    static final String TENANT = "faults";
    static final String OFFERING = "seeweb-nvidia-1xa6000";
    static final String A6000 = "NVIDIA RTX A6000";

    final PgCluster pg;
    final Path dir;
    final List<Replica> replicas = new ArrayList<>();
    final Map<String, Proc> hosts = new LinkedHashMap<>();
    String tenantToken;
    /** Closed once the programs are stopped, before the fleet's directory is removed (e.g. a private Docker Engine). */
    final List<AutoCloseable> afterPrograms = new ArrayList<>();

    /** A control-api replica and a client for it. */
    record Replica(Proc proc, int port, Http http) {}

    FaultFleet(int replicaCount) throws IOException {
        this(replicaCount, Map.of());
    }

    /** {@code apiEnv}: settings of the replicas over the defaults here (e.g. GPUFLEET_LOST_AFTER). */
    FaultFleet(int replicaCount, Map<String, String> apiEnv) throws IOException {
        pg = PgCluster.create();
        dir = Files.createTempDirectory("faults");
        Path key = dir.resolve("seal.key");
        byte[] bytes = new byte[32];
        new SecureRandom().nextBytes(bytes);
        Files.writeString(key, Base64.getEncoder().encodeToString(bytes));
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
        for (int i = 0; i < replicaCount; i++) {
            int port = Ports.free();
            Map<String, String> env = new HashMap<>(Map.of("GPUFLEET_DB_URL", pg.jdbcUrl(), "GPUFLEET_DB_USER", PgCluster.USER,
                    "GPUFLEET_DB_PASSWORD", PgCluster.PASSWORD, "GPUFLEET_LISTEN", "127.0.0.1:" + port,
                    "GPUFLEET_METRICS_LISTEN", "127.0.0.1:" + Ports.free(), "GPUFLEET_OPERATOR_TOKEN", OPERATOR,
                    "GPUFLEET_SEAL_KEY_FILE", key.toString(), "GPUFLEET_HEARTBEAT_GRACE", "5s", "GPUFLEET_LOST_AFTER", "60s",
                    "GPUFLEET_LIVENESS_INTERVAL", "1s"));
            env.put("GPUFLEET_DB_POOL_SIZE", "8");
            env.putAll(apiEnv);
            Proc p = new Proc("control-api-" + (char) ('a' + i), Proc.jar("control-api"), List.of(), env).start();
            replicas.add(new Replica(p, port, new Http(port)));
        }
        replicas.forEach(FaultFleet::awaitReady);
        Http api = replicas.get(0).http();
        assertThat(api.post("/v1/offerings", OPERATOR, Map.of("name", OFFERING, "gpuModel", A6000, "gpuCount", 1,
                "cpu", "8000m", "memory", "32861620Ki")).status()).isEqualTo(201);
        assertThat(api.post("/v1/tenants", OPERATOR, Map.of("name", TENANT, "offerings", List.of(OFFERING))).status()).isEqualTo(201);
        tenantToken = api.post("/v1/tenants/" + TENANT + "/tokens", OPERATOR, Map.of("description", "faults")).json()
                .get("token").asText();
    }

    /** Another tenant with the same offering; returns its token. */
    String tenant(String name) {
        Http api = replicas.get(0).http();
        assertThat(api.post("/v1/tenants", OPERATOR, Map.of("name", name, "offerings", List.of(OFFERING))).status()).isEqualTo(201);
        return api.post("/v1/tenants/" + name + "/tokens", OPERATOR, Map.of("description", "faults")).json().get("token").asText();
    }

    static void awaitReady(Replica r) {
        await().atMost(Duration.ofSeconds(90)).ignoreExceptions().until(() -> r.http().get("/readyz", null).status() == 200);
    }

    /** Starts (or starts again, with its credential) the host-agent of host {@code name} against replica {@code via}. */
    Proc host(String name, int via, int index) throws IOException {
        return host(name, via, index, Map.of());
    }

    /** {@code agentEnv}: settings over the defaults here (e.g. GPUFLEET_CONTROL_API_URL through a {@link Partition}). */
    Proc host(String name, int via, int index, Map<String, String> agentEnv) throws IOException {
        Path state = dir.resolve(name);
        Files.createDirectories(state);
        Path nvml = dir.resolve(name + ".nvml.conf");
        if (!Files.exists(nvml)) {
            StringBuilder conf = new StringBuilder("driver 550.127.05\ncuda 12040\n");
            for (int g = 0; g < 8; g++) {
                conf.append(String.format("gpu uuid=GPU-fa%06x-%04x-4000-8000-%012x name=\"%s\" serial=77%08d pci=00000000:%02X:00.0"
                        + " numa=0 mem_total=51527024640 mem_used=0 util_gpu=0 util_mem=0 temp=30 power_mw=20000"
                        + " power_limit_mw=300000 energy_mj=1 ecc=1 mig=0%n", index, g, g, A6000, index * 100 + g, 0x18 + g));
            }
            Files.writeString(nvml, conf);
        }
        Replica r = replicas.get(via);
        Map<String, String> env = new HashMap<>(Map.of("GPUFLEET_CONTROL_API_URL", "http://127.0.0.1:" + r.port(),
                "GPUFLEET_HOST_NAME", name, "GPUFLEET_STATE_DIR", state.toString(),
                "GPUFLEET_NVML_LIBRARY", Proc.jar("host-agent").resolveSibling(System.getProperty("faults.jars") != null
                        ? "libnvidia-ml-sim.so" : "nvml-sim/libnvidia-ml-sim.so").toString(),
                "GPUFLEET_NVML_SIM_CONFIG", nvml.toString(), "GPUFLEET_METRICS_LISTEN", "127.0.0.1:" + Ports.free(),
                "GPUFLEET_STREAM_PORT", "0", "GPUFLEET_HEARTBEAT_INTERVAL", "1s", "GPUFLEET_RESYNC_INTERVAL", "500ms",
                "GPUFLEET_RESERVED_CPU", "0"));
        env.put("GPUFLEET_RESERVED_MEMORY", "0");
        env.put("GPUFLEET_CUTOFF_AFTER", "40s");
        env.putAll(agentEnv);
        if (!Files.exists(state.resolve("credential.json"))) {
            env.put("GPUFLEET_JOIN_TOKEN", r.http().post("/v1/join-tokens", OPERATOR, Map.of("description", name, "ttl", "1h"))
                    .json().get("token").asText());
        }
        Proc p = new Proc("host-" + name, Proc.jar("host-agent"), List.of("run"), env).start();
        hosts.put(name, p);
        return p;
    }

    int freeGpus(String host) {
        return replicas.stream().filter(r -> r.proc().alive()).findFirst().orElseThrow().http()
                .get("/v1/hosts/" + host, OPERATOR).json().at("/host/gpus/free").asInt();
    }

    Connection db() throws SQLException {
        return DriverManager.getConnection(pg.jdbcUrl(), PgCluster.USER, PgCluster.PASSWORD);
    }

    @Override
    public void close() {
        hosts.values().forEach(Proc::close);
        replicas.forEach(r -> r.proc().close());
        for (String h : hosts.keySet()) {
            Docker.removeContainersOf(h);
        }
        for (AutoCloseable c : afterPrograms) {
            try {
                c.close();
            } catch (Exception e) {
                throw new IllegalStateException("cannot close " + c, e);
            }
        }
        pg.close();
        try {
            Commands.run("rm", "-rf", dir.toString());
        } catch (IllegalStateException e) {
            // a private engine's mount left behind: only a temporary directory stays
        }
    }
}
