package gpufleet.control.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.common.Json;
import gpufleet.common.api.GpuReport;
import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.Http;
import gpufleet.control.support.Inventories;
import gpufleet.control.support.Pods;
import gpufleet.control.support.Scrape;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The alert rules and the Grafana dashboard in monitoring/: promtool checks and unit-tests the
 * rules, and every expression of both names only metrics a running control-api exports, read
 * from its scrape (a renamed metric breaks a panel silently otherwise).
 */
class MonitoringIT {
    static final Path DIR = Path.of("..", "monitoring");
    private static final Pattern NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
    private static final Set<String> KEYWORDS = Set.of("by", "without", "on", "ignoring", "group_left", "group_right", "and", "or",
            "unless", "bool", "offset", "inf", "nan");

    static ApiFixture fx;
    static Scrape scrape;

    /** A control-api with every kind of series present: an edge to sync, a tenant's GPUs, an unhealthy GPU, a late host. */
    @BeforeAll
    static void start() {
        // Nothing listens on port 9: the edge sync fails each round, and its series exist.
        fx = ApiFixture.start(Map.of("GPUFLEET_EDGE_ADMIN_URL", "http://127.0.0.1:9"));
        fx.seedOfferings();
        ApiFixture.Host host = fx.seedHost("a6000-01");
        List<GpuReport> gpus = new ArrayList<>(Inventories.seedPool("a6000-01", 2).gpus());
        gpus.set(7, Inventories.gpu("a6000-01", 7, Inventories.A6000, false, "Xid 79"));
        fx.report(host, Inventories.withGpus(Inventories.seedPool("a6000-01", 2), 2, gpus));
        String token = fx.tenant("skg00000", List.of("seeweb-nvidia-1xa6000"));
        assertThat(fx.http.post("/v1/tenants/skg00000/workloads", token, Pods.seedPod("uid-1")).status()).isEqualTo(201);
        fx.backdateHeartbeat(host, Duration.ofMinutes(6));
        Http metrics = new Http(fx.api.metricsPort());
        await("a scrape with every fleet series").atMost(Duration.ofSeconds(20)).until(() -> {
            scrape = new Scrape(metrics.get("/metrics", null).body());
            return !scrape.find("gpufleet_host_heartbeat_lag_seconds").isEmpty() && !scrape.find("gpufleet_gpu_unhealthy_info").isEmpty()
                    && !scrape.find("gpufleet_tenant_gpus").isEmpty() && scrape.value("gpufleet_edge_sync_failures_total") > 0;
        });
    }

    @AfterAll
    static void stop() {
        fx.close();
    }

    @Test
    void promtoolChecksTheRules() {
        assertThat(promtool("check", "rules", DIR.resolve("alerts.yml").toString())).contains("SUCCESS");
    }

    @Test
    void promtoolsUnitTestsOfTheRulesPass() {
        assertThat(promtool("test", "rules", DIR.resolve("alerts-test.yml").toString())).contains("SUCCESS");
    }

    @Test
    void everyDashboardExpressionNamesOnlyExportedMetrics() throws IOException {
        JsonNode dashboard = Json.mapper().readTree(DIR.resolve("grafana-fleet.json").toFile());
        assertThat(dashboard.get("uid").asText()).isEqualTo("gpufleet-fleet");
        Map<String, Set<String>> byExpression = new TreeMap<>();
        for (JsonNode panel : dashboard.get("panels")) {
            assertThat(panel.get("targets")).as("panel " + panel.get("title")).isNotEmpty();
            for (JsonNode target : panel.get("targets")) {
                String expr = target.get("expr").asText();
                byExpression.put(expr, metricNames(expr));
            }
        }
        assertThat(byExpression).hasSizeGreaterThan(10);
        assertNamesExported(byExpression);
    }

    @Test
    void everyAlertExpressionNamesOnlyExportedMetrics() throws IOException {
        Map<String, Set<String>> byExpression = new TreeMap<>();
        for (String line : Files.readAllLines(DIR.resolve("alerts.yml"), StandardCharsets.UTF_8)) {
            String t = line.strip();
            if (t.startsWith("expr:")) {
                String expr = t.substring("expr:".length()).strip();
                byExpression.put(expr, metricNames(expr));
            }
        }
        assertThat(byExpression).hasSize(8);
        assertNamesExported(byExpression);
    }

    @Test
    void theNameReaderFindsMetricsAndSkipsFunctionsLabelsAndRanges() {
        assertThat(metricNames("histogram_quantile(0.99, sum by (le, path) (rate(a_bucket{path=\"create\"}[$__rate_interval])))"))
                .containsExactly("a_bucket");
        assertThat(metricNames("time() - max(b_seconds) > 300 or max by (x) (c) unless on (y) d offset 5m"))
                .containsExactly("b_seconds", "c", "d");
    }

    private static void assertNamesExported(Map<String, Set<String>> byExpression) {
        Set<String> exported = scrape.names();
        byExpression.forEach((expr, names) -> {
            assertThat(names).as("metric names in " + expr).isNotEmpty();
            assertThat(exported).as("metrics the control-api exports, for " + expr).containsAll(names);
        });
    }

    /** The metric names a PromQL expression reads: what is left once strings, label sets, ranges, grouping clauses and calls are taken out. */
    static Set<String> metricNames(String expr) {
        String s = expr.replaceAll("\"(\\\\.|[^\"\\\\])*\"", "\"\"")
                .replaceAll("\\{[^}]*}", " ")
                .replaceAll("\\[[^]]*]", " ")
                .replaceAll("\\b(by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)", " ")
                .replaceAll("\\boffset\\s+\\w+", " ");
        Set<String> out = new TreeSet<>();
        Matcher m = NAME.matcher(s);
        while (m.find()) {
            String name = m.group();
            boolean call = s.substring(m.end()).stripLeading().startsWith("(");
            boolean number = m.start() > 0 && Character.isDigit(s.charAt(m.start() - 1));
            if (!call && !number && !KEYWORDS.contains(name.toLowerCase())) {
                out.add(name);
            }
        }
        return out;
    }

    /** Runs promtool; fails naming how to install it when it is missing, and with its output when it fails. */
    private static String promtool(String... args) {
        List<String> command = new ArrayList<>(List.of("promtool"));
        command.addAll(List.of(args));
        Process p;
        try {
            p = new ProcessBuilder(command).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new AssertionError("promtool is not installed (Debian's prometheus package): run `bash dev/services.sh promtool`", e);
        }
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("promtool finished").isTrue();
            assertThat(p.exitValue()).as(String.join(" ", command) + ":\n" + out).isZero();
            return out;
        } catch (IOException e) {
            throw new AssertionError("reading promtool's output", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
