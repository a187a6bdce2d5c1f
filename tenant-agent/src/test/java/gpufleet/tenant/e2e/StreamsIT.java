package gpufleet.tenant.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import gpufleet.control.support.ApiFixture;
import gpufleet.tenant.kubelet.KubeletBackend;
import gpufleet.tenant.kubelet.KubeletBackend.LogOptions;
import gpufleet.tenant.kubelet.KubeletBackend.PodRef;
import gpufleet.tenant.kubelet.KubeletBackend.StreamOptions;
import gpufleet.tenant.kubelet.KubeletException;
import gpufleet.tenant.kubelet.relay.ControlApiBackend;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * kubectl's streams below the kubelet API: the tenant-agent's relay to a real control-api, which
 * relays to a real host-agent, which reaches real Docker containers. One fleet for every test.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class StreamsIT {
    /** How long to wait for what must happen: generous, for a busy 2-core machine. */
    static final Duration TIMEOUT = Duration.ofSeconds(30);
    StreamFleet fleet;
    ApiFixture fx;
    String token;
    KubeletBackend backend;

    @BeforeAll
    void start() throws Exception {
        fleet = StreamFleet.start();
        fx = fleet.fx;
        token = fleet.token;
        fx.tenant("other", List.of(StreamFleet.OFFERING));
        backend = new ControlApiBackend(fleet.controlApi(), token, StreamFleet.TENANT);
        run("talker", "sh", "-c", "for i in 1 2 3 4 5; do echo line-$i; done; sleep 0.3; echo oops >&2; exec sleep 3600");
        run("ticker", "sh", "-c", "i=0; while true; do echo tick-$i; i=$((i+1)); sleep 0.2; done");
        run("crasher", "sh", "-c", "echo run-$(cat /proc/sys/kernel/random/uuid); sleep 1; exit 2");
        run("web", "sh", "-c", "mkdir -p /www && echo It works! > /www/index.html && exec httpd -f -p 8080 -h /www");
        Map<String, Object> reader = StreamFleet.container("sh", "-c", "while read l; do echo got:$l; done");
        reader.put("stdin", true);
        fleet.create("reader", "reader", reader);
        fleet.awaitRunning(List.of("talker", "ticker", "web", "reader"));
    }

    @AfterAll
    void stop() throws Exception {
        fleet.close();
    }

    private void run(String name, String... command) {
        fleet.create(name, name, StreamFleet.container(command));
    }

    private static PodRef pod(String name) {
        return new PodRef("default", name, name);
    }

    private String logs(String pod, LogOptions o) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        backend.logs(pod(pod), "main", o, out);
        return out.toString(StandardCharsets.UTF_8);
    }

    private static LogOptions opts() {
        return new LogOptions(false, null, null, null, false, false, null);
    }

    @Test
    void logsHonourEveryKubeletParameter() throws Exception {
        await().atMost(TIMEOUT).until(() -> logs("talker", opts()).contains("oops"));
        assertThat(logs("talker", opts())).isEqualTo("line-1\nline-2\nline-3\nline-4\nline-5\noops\n");
        assertThat(logs("talker", new LogOptions(false, 2L, null, null, false, false, null))).isEqualTo("line-5\noops\n");
        assertThat(logs("talker", new LogOptions(false, null, null, null, false, false, 9L))).isEqualTo("line-1\nli");
        String last = logs("talker", new LogOptions(false, 1L, null, null, true, false, null));
        assertThat(last).matches("20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z oops\n");
        // sinceSeconds=1 once the last line is surely older than a second (Docker stamps it on this machine's clock).
        Instant oops = Instant.parse(last.substring(0, last.indexOf(' ')));
        await().atMost(TIMEOUT).until(() -> Instant.now().isAfter(oops.plusSeconds(2)));
        assertThat(logs("talker", new LogOptions(false, null, 1L, null, false, false, null))).isEmpty();
        assertThat(logs("talker", new LogOptions(false, null, null, Instant.now().minusSeconds(3600).toString(), false, false, null)))
                .contains("line-1");
    }

    @Test
    @org.junit.jupiter.api.Timeout(30)
    void followSeesNewLinesAsTheyAreWritten() throws Exception {
        ByteArrayOutputStream seen = new ByteArrayOutputStream();
        OutputStream stopAfterThree = new OutputStream() {
            @Override
            public void write(int b) {
                seen.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                seen.write(b, off, len);
                if (seen.toString(StandardCharsets.UTF_8).split("\n").length > 3) {
                    throw new IOException("enough");
                }
            }
        };
        long start = System.nanoTime();
        assertThatThrownBy(() -> backend.logs(pod("ticker"), "main", new LogOptions(true, 1L, null, null, false, false, null),
                stopAfterThree)).hasMessage("enough");
        String[] lines = seen.toString(StandardCharsets.UTF_8).split("\n");
        int first = Integer.parseInt(lines[0].substring(5));
        assertThat(lines[3]).isEqualTo("tick-" + (first + 3)); // three lines written after the follow began
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThan(Duration.ofMillis(400));
        // The reader went away: the control-api and the host stop following too (the host-agent runs in this JVM).
        await().atMost(TIMEOUT).until(() -> !threadsIn("gpufleet.host.stream.ContainerStreams.logs")
                && !threadsIn("gpufleet.control.stream.StreamRoutes.logs"));
    }

    @Test
    void anExecKilledByASignalEndsWithTheShellsExitCode() throws Exception {
        Collected c = Collected.exec(backend, pod("talker"), List.of("sh", "-c", "echo started; kill -9 $$"),
                new StreamOptions(false, true, true, false), null);
        assertThat(c.await()).isEqualTo(137);
        assertThat(c.stdout()).isEqualTo("started\n");
        await().atMost(TIMEOUT).until(() -> !threadsIn("gpufleet.host.stream.ContainerStreams.interactive"));
    }

    private static boolean threadsIn(String method) {
        return Thread.getAllStackTraces().values().stream().anyMatch(stack -> java.util.Arrays.stream(stack)
                .anyMatch(f -> (f.getClassName() + "." + f.getMethodName()).equals(method)));
    }

    @Test
    void previousShowsTheLastTerminatedRun() {
        await().atMost(TIMEOUT).until(() -> {
            try {
                return logs("crasher", new LogOptions(false, null, null, null, false, true, null)).startsWith("run-");
            } catch (KubeletException e) {
                return false;
            }
        });
        await().atMost(TIMEOUT).untilAsserted(() -> {
            String previous = logs("crasher", new LogOptions(false, null, null, null, false, true, null));
            String current = logs("crasher", opts());
            assertThat(previous).startsWith("run-");
            assertThat(current).startsWith("run-").isNotEqualTo(previous);
        });
    }

    @Test
    void previousOfAContainerThatNeverEndedIsAClearError() {
        assertThatThrownBy(() -> logs("talker", new LogOptions(false, null, null, null, false, true, null)))
                .isInstanceOfSatisfying(KubeletException.class, e -> assertThat(e.status()).isEqualTo(400))
                .hasMessage("previous terminated container \"main\" in pod \"talker\" not found");
    }

    @Test
    void execRunsACommandAndItsExitCodeComesBack() throws Exception {
        Collected hi = Collected.exec(backend, pod("talker"), List.of("echo", "hi"), new StreamOptions(false, true, true, false), null);
        assertThat(hi.await()).isEqualTo(0);
        assertThat(hi.stdout()).isEqualTo("hi\n");
        Collected three = Collected.exec(backend, pod("talker"), List.of("sh", "-c", "echo bad >&2; exit 3"),
                new StreamOptions(false, true, true, false), null);
        assertThat(three.await()).isEqualTo(3);
        assertThat(three.stderr()).isEqualTo("bad\n");
        Collected cat = Collected.exec(backend, pod("talker"), List.of("cat"), new StreamOptions(true, true, true, false), s -> {
            s.stdin("abc\n".getBytes(), 0, 4);
            s.closeStdin();
        });
        assertThat(cat.await()).isEqualTo(0);
        assertThat(cat.stdout()).isEqualTo("abc\n");
    }

    @Test
    void anInteractiveTerminalSeesItsSize() throws Exception {
        Collected sh = Collected.exec(backend, pod("talker"), List.of("sh"), new StreamOptions(true, true, false, true), s -> {
            s.resize(123, 45);
            s.stdin("stty size; exit 7\n".getBytes(), 0, 18);
        });
        assertThat(sh.await()).isEqualTo(7);
        assertThat(sh.stdout()).contains("45 123");
    }

    @Test
    void attachReachesTheMainProcess() throws Exception {
        Collected attach = Collected.attach(backend, pod("reader"), new StreamOptions(true, true, true, false));
        attach.session.stdin("x\n".getBytes(), 0, 2);
        await().atMost(TIMEOUT).until(() -> attach.stdout().contains("got:x"));
        attach.session.close();
    }

    @Test
    void portForwardReachesThePodsPort() throws Exception {
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        java.util.concurrent.CompletableFuture<String> end = new java.util.concurrent.CompletableFuture<>();
        KubeletBackend.Tunnel t = backend.portForward(pod("web"), 8080, new KubeletBackend.TunnelSink() {
            @Override
            public synchronized void data(byte[] data, int offset, int length) {
                got.write(data, offset, length);
            }

            @Override
            public void closed(String failure) {
                end.complete(String.valueOf(failure));
            }
        });
        byte[] req = "GET / HTTP/1.0\r\n\r\n".getBytes();
        t.send(req, 0, req.length);
        t.closeWrite();
        assertThat(end.get(10, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo("null");
        assertThat(got.toString(StandardCharsets.UTF_8)).startsWith("HTTP/1.").endsWith("It works!\n");
        assertThatThrownBy(() -> backend.portForward(pod("web"), 9, new KubeletBackend.TunnelSink() {
            @Override
            public void data(byte[] data, int offset, int length) {}

            @Override
            public void closed(String failure) {}
        })).isInstanceOfSatisfying(KubeletException.class, e -> assertThat(e.status()).isEqualTo(503))
                .hasMessageContaining("error forwarding port 9 to pod web");
    }

    @Test
    void statsShowEachPodsContainersAndGpus() throws Exception {
        // A rate (nano-cores) needs two samples of the host's: asked until the ticker has one, however busy the machine.
        await().atMost(TIMEOUT).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
            List<KubeletBackend.PodStats> all = backend.stats();
            KubeletBackend.PodStats ticker = all.stream().filter(p -> p.pod().name().equals("ticker")).findFirst().orElse(null);
            assertThat(ticker).as("the ticker among %s", all).isNotNull();
            assertThat(ticker.pod()).isEqualTo(new PodRef("default", "ticker", "ticker"));
            assertThat(ticker.containers()).hasSize(1);
            KubeletBackend.ContainerStats main = ticker.containers().get(0);
            assertThat(main.name()).isEqualTo("main");
            assertThat(main.cpuUsageCoreNanoSeconds()).isPositive();
            assertThat(main.cpuUsageNanoCores()).isPositive();
            assertThat(main.memoryWorkingSetBytes()).isBetween(64L * 1024, 256L * 1024 * 1024);
            assertThat(ticker.gpus()).hasSize(1);
            assertThat(ticker.gpus().get(0).model()).isEqualTo("NVIDIA RTX A6000");
            assertThat(ticker.gpus().get(0).uuid()).startsWith("GPU-");
        });
    }

    @Test
    void anotherTenantCannotReachThesePods() throws Exception {
        String other = fx.http.post("/v1/tenants/other/tokens", ApiFixture.OPERATOR, Map.of()).json().get("token").asText();
        KubeletBackend asOther = new ControlApiBackend(fleet.controlApi(), other, "other");
        assertThatThrownBy(() -> asOther.logs(pod("talker"), "main", opts(), new ByteArrayOutputStream()))
                .isInstanceOfSatisfying(KubeletException.class, e -> assertThat(e.status()).isEqualTo(404));
        KubeletBackend intruder = new ControlApiBackend(fleet.controlApi(), other, StreamFleet.TENANT);
        assertThatThrownBy(() -> intruder.exec(pod("talker"), "main", List.of("id"), new StreamOptions(false, true, true, false),
                new Collected())).isInstanceOfSatisfying(KubeletException.class, e -> assertThat(e.status()).isEqualTo(403));
        assertThat(asOther.stats()).isEmpty();
    }

    @Test
    @org.junit.jupiter.api.Timeout(180)
    void a100MiBLogIsFollowedThroughTheRelayWithFlatMemory() throws Exception {
        // 1,638,400 lines of 64 bytes: exactly 100 MiB, every line whole (the log driver holds a partial last line).
        run("flood", "sh", "-c", "yes 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde | head -n 1638400; exec sleep 3600");
        fleet.awaitRunning(List.of("flood"));
        Runtime rt = Runtime.getRuntime();
        System.gc();
        long before = rt.totalMemory() - rt.freeMemory();
        AtomicLong bytes = new AtomicLong();
        AtomicLong peak = new AtomicLong();
        OutputStream counter = new OutputStream() {
            @Override
            public void write(int b) {
                bytes.incrementAndGet();
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                if (bytes.addAndGet(len) / (8 << 20) != (bytes.get() - len) / (8 << 20)) {
                    System.gc(); // Every 8 MiB: what is still held, not garbage, is what counts.
                    peak.accumulateAndGet(rt.totalMemory() - rt.freeMemory(), Math::max);
                }
                if (bytes.get() >= 104857600L) {
                    throw new IOException("all of it");
                }
            }
        };
        long start = System.nanoTime();
        assertThatThrownBy(() -> backend.logs(pod("flood"), "main", new LogOptions(true, null, null, null, false, false, null), counter))
                .hasMessage("all of it");
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf("followed %d MiB of logs in %.1f s (%.0f MiB/s, GCs included); heap before %d MiB, peak after GC %d MiB%n",
                bytes.get() >> 20, seconds, (bytes.get() >> 20) / seconds, before >> 20, peak.get() >> 20);
        assertThat(bytes.get()).isEqualTo(104857600L);
        assertThat(peak.get() - before).isLessThan(32L << 20);
    }
}
