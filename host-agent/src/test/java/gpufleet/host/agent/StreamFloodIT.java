package gpufleet.host.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.Pods;
import gpufleet.host.SimNvml;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.core.ConditionFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pods flood the host's stream port: a real agent in its own JVM with the production flags, on
 * the simulated NVML and the real Docker Engine, reporting to a real control-api. Each pod is a
 * source address of its own; its connections stay idle, stop in the middle of a request line, or
 * half-close after one. Meanwhile the agent must heartbeat, start a new pod, and serve its logs.
 */
class StreamFloodIT {
    static final String HOST = "gpu-flood";
    static final List<String> PODS = List.of("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5");
    /** Sockets each flooding pod keeps open at once; older ones are closed as new ones are dialed. */
    static final int HELD_PER_POD = 600;

    @TempDir
    Path dir;
    ApiFixture fx;
    AgentProcess agent;
    final List<Thread> flood = new ArrayList<>();
    final AtomicLong dialed = new AtomicLong();
    volatile boolean flooding = true;

    @BeforeEach
    void start() {
        SimNvml.defaults();
        fx = ApiFixture.start(Map.of("GPUFLEET_HEARTBEAT_GRACE", "5s", "GPUFLEET_LOST_AFTER", "60s"));
        fx.seedOfferings();
    }

    @AfterEach
    void stop() throws Exception {
        flooding = false;
        for (Thread t : flood) {
            t.join(10_000);
        }
        if (agent != null) {
            if (!agent.alive()) {
                System.out.println("the agent exited with status " + agent.process.exitValue() + "; its log ends:\n"
                        + agent.logTail(40));
            }
            agent.close();
        }
        fx.close();
        AgentProcess.removeContainers(HOST);
    }

    private JsonNode host() {
        return fx.http.get("/v1/hosts/" + HOST, ApiFixture.OPERATOR).json();
    }

    @Test
    void thousandsOfConnectionsFromPodsLeaveTheAgentHeartbeatingStartingPodsAndServingStreams() throws Exception {
        String tenant = fx.tenant("flood0000", List.of("seeweb-nvidia-1xa6000"));
        agent = AgentProcess.start(dir, HOST, fx, Map.of("GPUFLEET_HEARTBEAT_INTERVAL", "500ms",
                "GPUFLEET_RESERVED_CPU", "0", "GPUFLEET_RESERVED_MEMORY", "0"));
        await().atMost(Duration.ofSeconds(60)).until(() -> host().at("/host/gpus/free").asInt() == 8);
        int port = agent.streamPort(Duration.ofSeconds(30));
        Instant floodStarted = Instant.now();
        for (String pod : PODS) {
            Thread t = new Thread(() -> floodFrom(pod, port), "flood-" + pod);
            flood.add(t);
            t.start();
        }
        duringTheFlood("the flood holding its connections").atMost(Duration.ofSeconds(120)).until(() -> dialed.get() >= 4 * HELD_PER_POD);

        Map<String, Object> pod = Pods.pod("flood-pod", "hello", "seeweb-nvidia-1xa6000",
                List.of(Pods.container("main", 1, "500m", "256Mi")));
        @SuppressWarnings("unchecked")
        Map<String, Object> main = (Map<String, Object>) ((List<?>) pod.get("containers")).get(0);
        main.put("command", List.of("sh", "-c", "echo hello through the flood; exec sleep 3600"));
        assertThat(fx.http.post("/v1/tenants/flood0000/workloads", tenant, pod).status()).isEqualTo(201);
        duringTheFlood("the pod created during the flood running").atMost(Duration.ofSeconds(120)).until(() -> "running".equals(
                fx.http.get("/v1/tenants/flood0000/workloads/flood-pod", tenant).json().path("phase").asText()));
        duringTheFlood("its logs served through the control-api").atMost(Duration.ofSeconds(60)).until(() -> fx.http.get(
                "/v1/tenants/flood0000/workloads/flood-pod/logs?container=main", tenant).body().contains("hello through the flood"));

        // Heartbeats went on through the flood: one was taken well after it began, and the host is ready.
        duringTheFlood("a heartbeat taken 10 s into the flood").atMost(Duration.ofSeconds(60)).until(() -> Instant.parse(host().at("/host/lastHeartbeat").asText())
                .isAfter(floodStarted.plusSeconds(10)));
        assertThat(host().at("/host/state").asText()).isEqualTo("ready");
        assertThat(dialed.get()).as("connections dialed by the flood").isGreaterThan(2_000);
        assertThat(agent.alive()).as("the agent process is still running").isTrue();
        long inUse = agent.heapUsedBytes(false);
        long live = agent.heapUsedBytes(true);
        System.out.printf("flood: %d connections dialed from %d addresses; agent heap in use %.1f MiB, live after a GC %.1f MiB"
                + " (limit 96 MiB)%n", dialed.get(), PODS.size(), inUse / 1048576.0, live / 1048576.0);
        assertThat(live).as("live heap during the flood").isLessThan(64L << 20);
    }

    /** Waits for {@code what}, and fails at once if the agent's process ends. */
    private ConditionFactory duringTheFlood(String what) {
        return await(what).failFast("the agent process exited", () -> !agent.alive());
    }

    /**
     * Dials one connection a millisecond at most (the test machine's two cores also run Docker and
     * the control-api), keeps the newest open, and varies what each says.
     */
    private void floodFrom(String address, int port) {
        ArrayDeque<Socket> held = new ArrayDeque<>();
        try {
            InetAddress from = InetAddress.getByName(address);
            for (long n = 0; flooding; n++) {
                if (held.size() >= HELD_PER_POD) {
                    closeQuietly(held.removeFirst());
                }
                Socket s = new Socket();
                try {
                    s.bind(new InetSocketAddress(from, 0));
                    s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 5_000);
                    if (n % 3 == 1) {
                        s.getOutputStream().write("{\"op\":\"exec\",\"workload\":\"".getBytes(StandardCharsets.US_ASCII));
                    } else if (n % 3 == 2) {
                        s.getOutputStream().write("{\"op\":".getBytes(StandardCharsets.US_ASCII));
                        s.shutdownOutput();
                    }
                    held.addLast(s);
                } catch (IOException refusedOrReset) {
                    closeQuietly(s);
                }
                dialed.incrementAndGet();
                Thread.sleep(1);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } finally {
            held.forEach(StreamFloodIT::closeQuietly);
        }
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // The agent closed it first.
        }
    }

    /** The agent as systemd runs it: its own JVM with the flags of the Ansible role. */
    static final class AgentProcess implements AutoCloseable {
        private static final Pattern SERVING = Pattern.compile("serving streams on 127\\.0\\.0\\.1:(\\d+)");
        final Process process;
        final Path log;

        private AgentProcess(Process process, Path log) {
            this.process = process;
            this.log = log;
        }

        static AgentProcess start(Path dir, String name, ApiFixture fx, Map<String, String> extra) throws IOException {
            List<String> cmd = new ArrayList<>();
            cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            cmd.addAll(productionFlags());
            cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "gpufleet.host.Main", "run"));
            ProcessBuilder pb = new ProcessBuilder(cmd);
            Map<String, String> env = new HashMap<>();
            env.put("GPUFLEET_CONTROL_API_URL", "http://127.0.0.1:" + fx.api.port());
            env.put("GPUFLEET_JOIN_TOKEN", fx.joinToken());
            env.put("GPUFLEET_HOST_NAME", name);
            env.put("GPUFLEET_STATE_DIR", dir.resolve("state").toString());
            env.put("GPUFLEET_NVML_LIBRARY", SimNvml.library());
            env.put("GPUFLEET_STREAM_PORT", "0");
            env.put("GPUFLEET_METRICS_LISTEN", "127.0.0.1:0");
            env.putAll(extra);
            pb.environment().putAll(env);
            Path log = dir.resolve("agent.log");
            pb.redirectErrorStream(true).redirectOutput(log.toFile());
            return new AgentProcess(pb.start(), log);
        }

        /** host_agent_java_opts from the Ansible role's defaults: the flags production runs with. */
        static List<String> productionFlags() throws IOException {
            Path defaults = Path.of("../ansible/roles/host_agent/defaults/main.yml");
            for (String line : Files.readAllLines(defaults)) {
                if (line.startsWith("host_agent_java_opts:")) {
                    return List.of(line.substring(line.indexOf(':') + 1).trim().split("\\s+"));
                }
            }
            throw new IllegalStateException("no host_agent_java_opts in " + defaults.toAbsolutePath());
        }

        int streamPort(Duration within) {
            int[] port = {0};
            await().atMost(within).until(() -> {
                Matcher m = SERVING.matcher(Files.readString(log));
                if (m.find()) {
                    port[0] = Integer.parseInt(m.group(1));
                }
                return port[0] > 0;
            });
            return port[0];
        }

        String logTail(int lines) throws IOException {
            List<String> all = Files.readAllLines(log);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        }

        boolean alive() {
            return process.isAlive();
        }

        /** Heap in use now, young and old generations, as the JVM reports it to jcmd; after a full GC if asked. */
        long heapUsedBytes(boolean afterGc) throws IOException, InterruptedException {
            if (afterGc) {
                jcmd("GC.run");
            }
            String out = jcmd("GC.heap_info");
            Matcher m = Pattern.compile("generation\\s+total \\d+K, used (\\d+)K").matcher(out);
            long used = 0;
            boolean found = false;
            while (m.find()) {
                used += Long.parseLong(m.group(1)) << 10;
                found = true;
            }
            if (!found) {
                throw new IllegalStateException("jcmd GC.heap_info said: " + out);
            }
            return used;
        }

        private String jcmd(String command) throws IOException, InterruptedException {
            Process jcmd = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                    Long.toString(process.pid()), command).redirectErrorStream(true).start();
            String out = new String(jcmd.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            jcmd.waitFor();
            return out;
        }

        static void removeContainers(String host) throws IOException, InterruptedException {
            Process ps = new ProcessBuilder("sh", "-c", "docker ps -aq --filter label=org.gpufleet.host=" + host
                    + " | xargs -r docker rm -f").redirectErrorStream(true).start();
            ps.getInputStream().readAllBytes();
            ps.waitFor();
        }

        @Override
        public void close() throws Exception {
            process.destroy();
            if (!process.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
            }
        }
    }
}
