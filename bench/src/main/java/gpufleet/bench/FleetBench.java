package gpufleet.bench;

import gpufleet.control.ControlApi;
import java.io.InputStream;
import java.net.CookieManager;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * The operators' fleet view at scale (default 50,000 hosts x 8 GPUs, three models, 40% allocated,
 * 1% unhealthy, 2% cordoned) under background churn ({@link FleetChurn}): GET /v1/fleet/summary
 * from several operator clients, and the dashboard's fleet poll from more (a session each, a poll
 * every 2 s with the cursor of the last; enough polls that p99 is not simply the slowest), over
 * HTTP to a control-api in this JVM. Baseline in the same run: the summary query as it was before
 * V23 (a count over every GPU), straight over JDBC.
 */
final class FleetBench {
    private static final String TOKEN = BenchApi.OPERATOR_TOKEN;
    private static final String OLD_SUMMARY = """
            SELECT g.model, count(DISTINCT g.host_id), count(*), count(*) FILTER (WHERE g.healthy AND a.id IS NULL),
                   count(*) FILTER (WHERE g.healthy AND a.id IS NOT NULL), count(*) FILTER (WHERE NOT g.healthy)
            FROM gpus g LEFT JOIN gpu_allocations a ON a.gpu_uuid = g.uuid AND a.released_at IS NULL
            GROUP BY g.model ORDER BY g.model""";
    private static final Duration POLL = Duration.ofSeconds(2);
    private static final Pattern FORM_TOKEN = Pattern.compile("name=\"csrf\" value=\"([^\"]*)\"");
    private static final Pattern CURSOR = Pattern.compile("\"cursor\":\"([0-9-]+)\"");

    private FleetBench() {}

    static void main(String[] args) throws Exception {
        Map<String, String> opt = BenchApi.options(args,
                "--hosts=50000 --gpus=8 --seconds=20 --clients=4 --boards=16 --board-seconds=30 --telemetry-every=30 --placements=50"
                        + " --aligned=false");
        int hosts = Integer.parseInt(opt.getOrDefault("hosts", "50000"));
        int gpus = Integer.parseInt(opt.getOrDefault("gpus", "8"));
        int seconds = Integer.parseInt(opt.getOrDefault("seconds", "20"));
        int clients = Integer.parseInt(opt.getOrDefault("clients", "4"));
        int boards = Integer.parseInt(opt.getOrDefault("boards", "16"));
        int boardSeconds = Integer.parseInt(opt.getOrDefault("board-seconds", "30"));
        // Every board's polls due at the same instant: a worst case, as a breakdown.
        boolean aligned = Boolean.parseBoolean(opt.getOrDefault("aligned", "false"));
        int telemetryEvery = Integer.parseInt(opt.getOrDefault("telemetry-every", "30"));
        int placements = Integer.parseInt(opt.getOrDefault("placements", "50"));
        Db db = Db.fromEnvironment();
        System.out.printf("fleet: %d hosts x %d GPUs; %d s per phase; %d operators (%d dashboards for %d s); churn: each host's"
                + " telemetry every %d s, %d placements/s and as many releases%n", hosts, gpus, seconds, clients, boards,
                boardSeconds, telemetryEvery, placements);

        String name = "gpufleet_fleetbench";
        // The seeded hosts do not beat; they must not all go not-ready during the run.
        try (ControlApi api = BenchApi.start(db, name, Map.of("GPUFLEET_HEARTBEAT_GRACE", "1h", "GPUFLEET_LOST_AFTER", "2h"))) {
            long t0 = System.nanoTime();
            List<FleetSeed.SeededHost> fleet;
            try (Connection c = db.connect(name)) {
                fleet = FleetSeed.seed(c, hosts, gpus);
                FleetChurn.allocateSome(c);
            }
            System.out.printf("seeded in %.1f s%n", (System.nanoTime() - t0) / 1e9);
            String base = "http://127.0.0.1:" + api.port();
            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
            awaitSummary(http, base, hosts);
            try (FleetChurn churn = new FleetChurn(db, name, fleet, gpus, telemetryEvery, placements)) {
                Thread.sleep(3_000); // the churn reaches its rate before anything is timed
                Histogram old = oldSummary(db, name, clients, Math.min(seconds, 10));
                Histogram summary = summary(http, base, clients, seconds);
                Board board = board(base, boards, boardSeconds, aligned);
                report(old, summary, board, churn.rates(), clients, boards + (aligned ? " boards, aligned" : " boards"));
            }
        } finally {
            db.drop(name);
        }
    }

    /** Waits until the control-api's counts include every seeded host. */
    private static void awaitSummary(HttpClient http, String base, int hosts) throws Exception {
        long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
        Pattern want = Pattern.compile("\"ready\":" + (hosts - hosts / 50) + "\\b");
        while (System.nanoTime() < deadline) {
            if (want.matcher(get(http, base + "/v1/fleet/summary", "Bearer " + TOKEN).body()).find()) {
                return;
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("the summary never counted the seeded fleet");
    }

    private static Histogram oldSummary(Db db, String name, int clients, int seconds) throws Exception {
        Recorder rec = new Recorder(3);
        closedLoop(clients, seconds, () -> {
            try (Connection c = db.connect(name)) {
                long end = System.nanoTime() + seconds * 1_000_000_000L;
                while (System.nanoTime() < end) {
                    long t = System.nanoTime();
                    try (PreparedStatement ps = c.prepareStatement(OLD_SUMMARY); ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            rs.getLong(3);
                        }
                    }
                    rec.recordValue(System.nanoTime() - t);
                }
            }
        });
        return rec.getIntervalHistogram();
    }

    private static Histogram summary(HttpClient http, String base, int clients, int seconds) throws Exception {
        Recorder rec = new Recorder(3);
        AtomicLong maxAge = new AtomicLong();
        Pattern age = Pattern.compile("\"ageMillis\":([0-9]+)");
        closedLoop(clients, seconds, () -> {
            long end = System.nanoTime() + seconds * 1_000_000_000L;
            while (System.nanoTime() < end) {
                long t = System.nanoTime();
                HttpResponse<String> r = get(http, base + "/v1/fleet/summary", "Bearer " + TOKEN);
                rec.recordValue(System.nanoTime() - t);
                Matcher m = age.matcher(r.body());
                if (r.statusCode() != 200 || !m.find()) {
                    throw new IllegalStateException("summary answered " + r.statusCode() + ": " + r.body());
                }
                maxAge.accumulateAndGet(Long.parseLong(m.group(1)), Math::max);
            }
        });
        System.out.printf("summary: the oldest counts any answer carried were %d ms old%n", maxAge.get());
        return rec.getIntervalHistogram();
    }

    record Board(Histogram delta, long fullBytes, double fullMillis, long deltaPolls, long deltaBytes, long deltaHosts) {}

    /**
     * Each operator signs in and loads the whole board once; when all have, each polls once to
     * catch up (its cursor is as old as the slowest load) and then every 2 s with its cursor,
     * timed. A poll's latency counts from when it was due, so a slow answer delays the next one's
     * clock. Each operator's clock starts at its own point of the 2 s, as independent browsers'
     * do: the same instant for all (as started behind the barrier) is a burst no set of
     * operators makes. The whole board (52 MB at 50,000 hosts) is counted as it streams in, not kept.
     */
    private static Board board(String base, int clients, int seconds, boolean aligned) throws Exception {
        Recorder rec = new Recorder(3);
        AtomicLong fullBytes = new AtomicLong();
        AtomicLong fullNanos = new AtomicLong();
        AtomicLong polls = new AtomicLong();
        AtomicLong bytes = new AtomicLong();
        AtomicLong hosts = new AtomicLong();
        CyclicBarrier loaded = new CyclicBarrier(clients);
        AtomicLong phase = new AtomicLong();
        closedLoop(clients, seconds, () -> {
            HttpClient browser = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).cookieHandler(new CookieManager())
                    .connectTimeout(Duration.ofSeconds(5)).build();
            signIn(browser, base);
            long t = System.nanoTime();
            String first = wholeBoard(browser, base, fullBytes);
            fullNanos.accumulateAndGet(System.nanoTime() - t, Math::max);
            loaded.await();
            String cursor = cursor(get(browser, base + "/dashboard/data/fleet?since=" + first, null));
            long due = System.nanoTime() + POLL.toNanos() + (aligned ? 0 : POLL.toNanos() * phase.getAndIncrement() / clients);
            long end = due + seconds * 1_000_000_000L;
            while (due < end) {
                Thread.sleep(Math.max(0, (due - System.nanoTime()) / 1_000_000));
                HttpResponse<String> r = get(browser, base + "/dashboard/data/fleet?since="
                        + URLEncoder.encode(cursor, StandardCharsets.UTF_8), null);
                rec.recordValue(System.nanoTime() - due);
                cursor = cursor(r);
                polls.incrementAndGet();
                bytes.addAndGet(r.body().getBytes(StandardCharsets.UTF_8).length);
                hosts.addAndGet(count(r.body(), "\"gpus\":["));
                due += POLL.toNanos();
            }
        });
        return new Board(rec.getIntervalHistogram(), fullBytes.get(), fullNanos.get() / 1e6, polls.get(), bytes.get(),
                hosts.get());
    }

    /** Loads the whole board, counting its bytes as they arrive; answers its cursor (the answer's second field). */
    private static String wholeBoard(HttpClient browser, String base, AtomicLong bytes) throws Exception {
        HttpResponse<InputStream> r = browser.send(HttpRequest.newBuilder(URI.create(base + "/dashboard/data/fleet"))
                .timeout(Duration.ofSeconds(120)).build(), HttpResponse.BodyHandlers.ofInputStream());
        try (InputStream in = r.body()) {
            byte[] head = in.readNBytes(200);
            long n = head.length;
            byte[] buf = new byte[1 << 16];
            for (int k; (k = in.read(buf)) > 0; ) {
                n += k;
            }
            bytes.set(n);
            Matcher m = CURSOR.matcher(new String(head, StandardCharsets.UTF_8));
            if (r.statusCode() != 200 || !m.find()) {
                throw new IllegalStateException("the whole board answered " + r.statusCode() + " without a cursor");
            }
            return m.group(1);
        }
    }

    private static void report(Histogram old, Histogram summary, Board b, String churn, int clients, String boards) {
        System.out.println();
        System.out.println("churn achieved: " + churn);
        System.out.printf("%-58s %9s %9s %9s %9s%n", "phase", "requests", "p50 ms", "p99 ms", "max ms");
        line("baseline: the summary query before V23, JDBC, " + clients + " clients", old);
        line("GET /v1/fleet/summary over HTTP, " + clients + " clients", summary);
        line("dashboard poll, " + boards + ", every 2 s, from when due", b.delta());
        System.out.printf("%ndashboard: whole board %,d bytes (%.0f ms, the slowest of %s loading at once); a poll with cursor: %,d bytes"
                        + " and %.0f hosts on average over %d polls (%.2f%% of the whole board)%n",
                b.fullBytes(), b.fullMillis(), boards, b.deltaPolls() == 0 ? 0 : b.deltaBytes() / b.deltaPolls(),
                b.deltaPolls() == 0 ? 0.0 : (double) b.deltaHosts() / b.deltaPolls(), b.deltaPolls(),
                b.deltaPolls() == 0 ? 0.0 : 100.0 * b.deltaBytes() / b.deltaPolls() / b.fullBytes());
        System.out.printf("summary p99 %.1f ms, dashboard poll p99 %.1f ms (target < 50 ms); baseline p99 %.1f ms%n",
                ms(summary, 99), ms(b.delta(), 99), ms(old, 99));
    }

    private static void line(String phase, Histogram h) {
        System.out.printf("%-58s %9d %9.2f %9.2f %9.2f%n", phase, h.getTotalCount(), ms(h, 50), ms(h, 99),
                h.getMaxValue() / 1e6);
    }

    private static double ms(Histogram h, double percentile) {
        return h.getValueAtPercentile(percentile) / 1e6;
    }

    interface Client {
        void run() throws Exception;
    }

    private static void closedLoop(int clients, int seconds, Client client) throws InterruptedException {
        List<Thread> threads = new ArrayList<>();
        List<Exception> failures = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            Thread t = new Thread(() -> {
                try {
                    client.run();
                } catch (Exception e) {
                    synchronized (failures) {
                        failures.add(e);
                    }
                }
            }, "operator-" + i);
            t.start();
            threads.add(t);
        }
        for (Thread t : threads) {
            t.join();
        }
        if (!failures.isEmpty()) {
            throw new IllegalStateException("an operator client failed: " + failures.get(0), failures.get(0));
        }
    }

    /** Signs in through the login form as a browser does; the session cookie stays in the client. */
    private static void signIn(HttpClient browser, String base) throws Exception {
        HttpResponse<String> page = get(browser, base + "/dashboard/login", null);
        Matcher m = FORM_TOKEN.matcher(page.body());
        if (!m.find()) {
            throw new IllegalStateException("no form token on the login page");
        }
        String form = "csrf=" + URLEncoder.encode(m.group(1), StandardCharsets.UTF_8) + "&token="
                + URLEncoder.encode(TOKEN, StandardCharsets.UTF_8);
        HttpResponse<String> in = browser.send(HttpRequest.newBuilder(URI.create(base + "/dashboard/login"))
                .header("Content-Type", "application/x-www-form-urlencoded").header("Origin", base)
                .header("Sec-Fetch-Site", "same-origin").POST(HttpRequest.BodyPublishers.ofString(form)).build(),
                HttpResponse.BodyHandlers.ofString());
        if (in.statusCode() != 303) {
            throw new IllegalStateException("sign-in answered " + in.statusCode() + ": " + in.body());
        }
    }

    private static HttpResponse<String> get(HttpClient http, String url, String authorization) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(60));
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String cursor(HttpResponse<String> r) {
        Matcher m = CURSOR.matcher(r.body());
        if (r.statusCode() != 200 || !m.find()) {
            throw new IllegalStateException("the board answered " + r.statusCode() + " without a cursor: "
                    + r.body().substring(0, Math.min(300, r.body().length())));
        }
        return m.group(1);
    }

    private static long count(String body, String what) {
        long n = 0;
        for (int i = body.indexOf(what); i >= 0; i = body.indexOf(what, i + 1)) {
            n++;
        }
        return n;
    }
}
