package gpufleet.bench;

import gpufleet.control.ControlApi;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.IntFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Metering at a year of data: a control-api in this JVM on a fresh database of its own, a year of
 * usage intervals of 1,000 tenants generated straight into usage_intervals (the seed; production
 * writes them one placement at a time), then GET /v1/usage over HTTP, one client, with the
 * questions tenants and operators ask: a tenant's month and week, an operator's invoice of one
 * tenant, the fleet's last day, and the monthly billing run over every tenant. Baselines in the
 * same run: pgbench -N, and a lookup of one interval by its key over JDBC on the same table.
 */
final class MeteringBench {
    private static final String TOKEN = BenchApi.OPERATOR_TOKEN;
    private static final String NAME = "meter_bench";
    private static final Pattern TOTAL = Pattern.compile("\"totalGpuSeconds\":([0-9.E]+)");
    /** What one interval is: 70% jobs of 1 minute to 2 hours, 25% up to a day, 5% services of 1 to 14 days. */
    private static final String GENERATE = """
            INSERT INTO usage_intervals (allocation_id, tenant, cluster, offering, namespace, pod_name, pod_uid, workload_id,
                                         host_id, gpu_uuid, gpu_model, started_at, ended_at, end_reason)
            SELECT i, 'tenant-' || lpad((i % ?)::text, 4, '0'), 'default', o.offering, 'ns-' || i % 7, 'pod-' || i, 'uid-' || i,
                   md5(i::text)::uuid, md5('host-' || i % 10000)::uuid, 'GPU-' || i % 80000, o.model, s.started,
                   CASE WHEN s.started + d.length < ? THEN s.started + d.length END,
                   CASE WHEN s.started + d.length < ? THEN 'deleted' END
            FROM generate_series(1, ?::int) i
            CROSS JOIN LATERAL (SELECT ?::timestamptz - interval '365 days' + (i::float8 / ?) * interval '365 days' AS started) s
            CROSS JOIN LATERAL (SELECT (hashint4(i) & 2147483647) % 100 AS kind, (hashint4(i + 7919) & 2147483647) % 1000000 AS r) h
            CROSS JOIN LATERAL (SELECT CASE WHEN h.kind < 70 THEN interval '1 minute' + h.r * interval '119 minutes' / 1000000
                                            WHEN h.kind < 95 THEN interval '2 hours' + h.r * interval '22 hours' / 1000000
                                            ELSE interval '1 day' + h.r * interval '13 days' / 1000000 END AS length) d
            CROSS JOIN LATERAL (SELECT CASE WHEN i % 10 < 6 THEN 'seeweb-nvidia-1xa6000' WHEN i % 10 < 8 THEN 'seeweb-nvidia-2xa6000'
                                            ELSE 'seeweb-nvidia-1xa100' END AS offering,
                                       CASE WHEN i % 10 < 8 THEN 'NVIDIA RTX A6000' ELSE 'NVIDIA A100-SXM4-80GB' END AS model) o""";

    private MeteringBench() {}

    /** One kind of question: its name, how often it is asked, and the path of its n-th asking with whose token. */
    private record Question(String name, int times, IntFunction<String[]> pathAndToken) {}

    static void main(String[] args) throws Exception {
        Map<String, String> opt = BenchApi.options(args, "--tenants=1000 --intervals=3000000 --times=200");
        int tenants = Integer.parseInt(opt.getOrDefault("tenants", "1000"));
        int intervals = Integer.parseInt(opt.getOrDefault("intervals", "3000000"));
        int times = Integer.parseInt(opt.getOrDefault("times", "200"));
        Db db = Db.fromEnvironment();
        db.recreate(NAME + "_pgbench");
        Pgbench.Result pg = Pgbench.simpleUpdate(db, NAME + "_pgbench", 16, 10);
        System.out.printf("metering: %d tenants, %d usage intervals over the last 365 days%n", tenants, intervals);
        System.out.printf("  pgbench -N (baseline)                %.0f tps (16 clients, 10 s, latency avg %.2f ms)%n",
                pg.tps(), pg.latencyAvgMillis());
        try (ControlApi api = BenchApi.start(db, NAME, Map.of())) {
            Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
            try (Connection c = db.connect(NAME)) {
                generate(c, tenants, intervals, now);
            }
            String base = "http://127.0.0.1:" + api.port();
            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
            List<String> tokens = tenantTokens(http, base, 100);
            Random random = new Random(42);
            LocalDate today = LocalDate.ofInstant(now, ZoneOffset.UTC);
            String monthStart = today.withDayOfMonth(1).minusMonths(1) + "T00:00:00Z";
            String monthEnd = today.withDayOfMonth(1) + "T00:00:00Z";
            String last30 = now.minus(30, ChronoUnit.DAYS).toString();
            String last7 = now.minus(7, ChronoUnit.DAYS).toString();
            String lastDay = now.minus(1, ChronoUnit.DAYS).toString();
            String end = now.toString();
            List<Question> questions = List.of(
                    new Question("tenant: last 30 days by model", times, n -> new String[] {
                            "/v1/usage?from=" + last30 + "&to=" + end + "&groupBy=model", tokens.get(random.nextInt(tokens.size()))}),
                    new Question("tenant: last 7 days by day, model", times, n -> new String[] {
                            "/v1/usage?from=" + last7 + "&to=" + end + "&groupBy=day,model", tokens.get(random.nextInt(tokens.size()))}),
                    new Question("operator: one tenant's invoice, last month", times, n -> new String[] {
                            "/v1/usage?from=" + monthStart + "&to=" + monthEnd + "&groupBy=offering,model&tenant="
                                    + tenant(random.nextInt(tenants)), TOKEN}),
                    new Question("operator: every tenant, last 24 h", Math.max(3, times / 10), n -> new String[] {
                            "/v1/usage?from=" + lastDay + "&to=" + end + "&groupBy=tenant", TOKEN}),
                    new Question("operator: billing run, last month", Math.max(3, times / 40), n -> new String[] {
                            "/v1/usage?from=" + monthStart + "&to=" + monthEnd + "&groupBy=tenant,offering,model", TOKEN}));
            Stats keyed = keyedLookups(db, intervals, times * 5);
            System.out.printf("  interval by key, JDBC (baseline)     p50 %.2f ms  p99 %.2f ms  (%d lookups)%n",
                    keyed.percentileMillis(50), keyed.percentileMillis(99), keyed.count());
            for (Question q : questions) {
                ask(http, base, q);
            }
        } finally {
            db.drop(NAME);
            db.drop(NAME + "_pgbench");
        }
    }

    private static String tenant(int i) {
        return String.format("tenant-%04d", i);
    }

    private static void generate(Connection c, int tenants, int intervals, Instant now) throws Exception {
        long t0 = System.nanoTime();
        try (Statement s = c.createStatement()) {
            s.execute("INSERT INTO tenants (name) SELECT 'tenant-' || lpad(i::text, 4, '0') FROM generate_series(0, " + (tenants - 1) + ") i");
        }
        try (PreparedStatement ps = c.prepareStatement(GENERATE)) {
            Timestamp at = Timestamp.from(now);
            ps.setInt(1, tenants);
            ps.setTimestamp(2, at);
            ps.setTimestamp(3, at);
            ps.setInt(4, intervals);
            ps.setTimestamp(5, at);
            ps.setInt(6, intervals);
            ps.executeUpdate();
        }
        double written = (System.nanoTime() - t0) / 1e9;
        long t1 = System.nanoTime();
        try (Statement s = c.createStatement()) {
            // What autovacuum leaves on a table written over a year: statistics, and pages marked all-visible.
            s.execute("VACUUM ANALYZE usage_intervals");
        }
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("""
                SELECT count(*) FILTER (WHERE ended_at IS NULL), pg_size_pretty(pg_table_size('usage_intervals')),
                       pg_size_pretty(pg_indexes_size('usage_intervals')) FROM usage_intervals""")) {
            rs.next();
            System.out.printf("  generated in %.1f s, vacuumed and analyzed in %.1f s; %d open; table %s, indexes %s%n", written,
                    (System.nanoTime() - t1) / 1e9, rs.getLong(1), rs.getString(2), rs.getString(3));
        }
    }

    /** Tokens of the first {@code n} tenants, through the API as an operator makes them. */
    private static List<String> tenantTokens(HttpClient http, String base, int n) throws Exception {
        Pattern token = Pattern.compile("\"token\":\"([^\"]+)\"");
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/tenants/" + tenant(i) + "/tokens"))
                    .header("Authorization", "Bearer " + TOKEN).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"description\":\"bench\"}")).build(), HttpResponse.BodyHandlers.ofString());
            Matcher m = token.matcher(r.body());
            if (r.statusCode() != 201 || !m.find()) {
                throw new IllegalStateException("tenant token: " + r.statusCode() + " " + r.body());
            }
            out.add(m.group(1));
        }
        return out;
    }

    private static Stats keyedLookups(Db db, int intervals, int n) throws Exception {
        Stats stats = new Stats();
        Random random = new Random(7);
        try (Connection c = db.connect(NAME);
             PreparedStatement ps = c.prepareStatement("SELECT tenant, started_at, ended_at FROM usage_intervals WHERE allocation_id = ?")) {
            for (int i = 0; i < n; i++) {
                long t0 = System.nanoTime();
                ps.setLong(1, 1 + (long) (random.nextDouble() * intervals));
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                }
                stats.add(System.nanoTime() - t0);
            }
        }
        return stats;
    }

    /** Asks one kind of question over HTTP, one at a time after one untimed warm-up, and prints its latencies. */
    private static void ask(HttpClient http, String base, Question q) throws Exception {
        Stats stats = new Stats();
        double total = 0;
        for (int n = -1; n < q.times(); n++) {
            String[] pt = q.pathAndToken().apply(n);
            HttpRequest req = HttpRequest.newBuilder(URI.create(base + pt[0].replace(" ", "%20")))
                    .header("Authorization", "Bearer " + pt[1]).GET().build();
            long t0 = System.nanoTime();
            HttpResponse<String> r = http.send(req, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            long took = System.nanoTime() - t0;
            if (r.statusCode() != 200) {
                throw new IllegalStateException(q.name() + ": " + r.statusCode() + " " + r.body());
            }
            Matcher m = TOTAL.matcher(r.body());
            total = m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
            if (n >= 0) {
                stats.add(took);
            }
        }
        System.out.printf("  %-44s p50 %7.2f ms  p99 %7.2f ms  (%d asked; last answer %.0f GPU-hours)%n", q.name(),
                stats.percentileMillis(50), stats.percentileMillis(99), stats.count(), total / 3600);
    }
}
