package gpufleet.control.dashboard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gpufleet.common.api.GpuReport;
import gpufleet.common.api.InventoryReport;
import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.ApiFixture.Host;
import gpufleet.control.support.Http;
import gpufleet.control.support.Inventories;
import gpufleet.control.support.Pods;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.Cookie;
import org.openqa.selenium.WebElement;

/**
 * The operators' dashboard in headless Chromium, against a real control-api on a fresh real
 * PostgreSQL database. Hosts register, heartbeat and report through the API as host-agents do.
 */
class DashboardIT {
    static final String L40S = "NVIDIA L40S";
    static final String H100 = "NVIDIA H100 80GB HBM3";
    static final String H200 = "NVIDIA H200";
    static final String RED = "rgba(211, 47, 47, 1)";

    static ApiFixture fx;
    static Browser browser;
    static TelemetrySampler sampler;

    @BeforeAll
    static void start() {
        // Hosts heartbeat once here; a long grace keeps them ready for the whole class.
        fx = ApiFixture.start(Map.of("GPUFLEET_HEARTBEAT_GRACE", "10m", "GPUFLEET_LOST_AFTER", "20m"));
        browser = new Browser(fx.api.port());
        sampler = new TelemetrySampler(fx.api.database());
    }

    @AfterAll
    static void stop() {
        if (browser != null) {
            browser.close();
        }
        fx.close();
    }

    @BeforeEach
    void signedOut() {
        browser.open("/dashboard/login");
        browser.driver.manage().deleteAllCookies();
    }

    @Test
    void theDashboardNeedsAnOperatorSignIn() {
        browser.open("/dashboard");
        assertThat(browser.path()).isEqualTo("/dashboard/login");
        Http.Response data = fx.http.get("/dashboard/data/fleet", null);
        assertThat(data.status()).as(data.toString()).isEqualTo(401);
        assertThat(data.message()).contains("/dashboard/login");
        assertThat(fx.http.get("/dashboard/data/fleet", ApiFixture.OPERATOR).status())
                .as("a bearer token is not a session").isEqualTo(401);

        browser.signIn("gfo_this-is-not-a-valid-operator-token");
        assertThat(browser.path()).isEqualTo("/dashboard/login");
        assertThat(browser.driver.findElement(By.id("login-error")).getText()).contains("token is not valid");

        fx.seedOfferings();
        String tenantToken = fx.tenant("hooli", List.of("seeweb-nvidia-1xa6000"));
        browser.signIn(tenantToken);
        assertThat(browser.driver.findElement(By.id("login-error")).getText())
                .contains("needs an operator token; this is a tenant token");

        browser.signIn(ApiFixture.OPERATOR);
        assertThat(browser.path()).isEqualTo("/dashboard");
        Cookie session = browser.driver.manage().getCookieNamed(Sessions.COOKIE);
        assertThat(session.isHttpOnly()).isTrue();
        assertThat(session.getSameSite()).isEqualTo("Strict");
        assertThat(session.getExpiry()).isAfter(java.util.Date.from(Instant.now().plus(Duration.ofHours(11))));
        assertThat(browser.script("return document.cookie")).as("scripts cannot read the session").isEqualTo("");

        browser.submit(By.cssSelector("header form button"));
        assertThat(browser.path()).isEqualTo("/dashboard/login");
        browser.open("/dashboard/hosts/any");
        assertThat(browser.path()).isEqualTo("/dashboard/login");
    }

    @Test
    void revokingTheOperatorTokenEndsItsDashboardSessions() {
        Http.Response issued = fx.http.post("/v1/operator-tokens", ApiFixture.OPERATOR, Map.of("description", "night shift"));
        assertThat(issued.status()).as(issued.toString()).isEqualTo(201);
        browser.signIn(issued.json().get("token").asText());
        browser.open("/dashboard/tenants");
        assertThat(browser.path()).isEqualTo("/dashboard/tenants");

        Http.Response revoked = fx.http.delete("/v1/tokens/" + issued.json().get("id").asText(), ApiFixture.OPERATOR);
        assertThat(revoked.status()).as(revoked.toString()).isEqualTo(200);
        browser.await(10, "the open page sent back to sign in", d -> browser.path().equals("/dashboard/login"));
        browser.open("/dashboard");
        assertThat(browser.path()).isEqualTo("/dashboard/login");
    }

    @Test
    void theFleetShowsEachHostsGpusByStateWithHostsNotReadyFirst() {
        fx.seedHost("fleet-a6000");
        Host a100 = fx.register("fleet-a100");
        fx.heartbeat(a100);
        fx.report(a100, Inventories.withGpus(Inventories.report("fleet-a100", 1, Inventories.A100, 2, 32_000, 128L << 30), 1,
                List.of(Inventories.gpu("fleet-a100", 0, Inventories.A100, true, null),
                        Inventories.gpu("fleet-a100", 1, Inventories.A100, false, "Xid 79: GPU has fallen off the bus"))));
        Host silent = fx.register("zz-silent");
        fx.report(silent, Inventories.report("zz-silent", 1, Inventories.A100, 1, 32_000, 128L << 30));
        fx.offering("fleet-1xa6000", Inventories.A6000, 1, "2000m", "4Gi");
        placeOne("acme", "fleet-1xa6000", "acme-1");
        placeOne("globex", "fleet-1xa6000", "globex-1");

        browser.signIn(ApiFixture.OPERATOR);
        browser.await(10, "both tenants' GPUs shown", d -> browser.all(".host[data-host='fleet-a6000'] .gpu.allocated").size() == 2);

        assertThat(browser.all(".host").get(0).getAttribute("data-host")).as("not-ready hosts come first").isEqualTo("zz-silent");
        assertThat(browser.all(".host[data-host='zz-silent'] .badge").get(0).getText()).isEqualTo("not-ready");
        List<WebElement> gpus = browser.all(".host[data-host='fleet-a6000'] .gpu");
        assertThat(gpus).hasSize(8);
        assertThat(gpus).extracting(g -> g.getAttribute("data-state")).containsOnly("free", "allocated");
        assertThat(browser.all(".host[data-host='fleet-a6000'] .gpu.allocated"))
                .extracting(g -> g.getAttribute("data-tenant")).containsExactlyInAnyOrder("acme", "globex");
        assertThat(browser.all(".host[data-host='fleet-a6000'] .gpu.allocated .who"))
                .extracting(WebElement::getText).containsExactlyInAnyOrder("acme", "globex");
        WebElement bad = browser.all(".host[data-host='fleet-a100'] .gpu").get(1);
        assertThat(bad.getAttribute("data-state")).isEqualTo("unhealthy");
        assertThat(bad.getAttribute("title")).contains("unhealthy: Xid 79: GPU has fallen off the bus");
        assertThat(bad.getCssValue("background-color")).isEqualTo(RED);
        assertThat(browser.all(".host[data-host='fleet-a100'] .gpu").get(0).getAttribute("data-state")).isEqualTo("free");

        assertThat(modelRow(Inventories.A6000)).containsExactly(Inventories.A6000, "1", "8", "6", "2", "0");
        assertThat(modelRow(Inventories.A100)).containsExactly(Inventories.A100, "2", "3", "2", "0", "1");
        assertThat((List<?>) browser.script("return performance.getEntriesByType('resource').map(e => e.name)"))
                .as("everything the page loaded came from the control-api").isNotEmpty()
                .allSatisfy(url -> assertThat((String) url).startsWith(browser.base + "/dashboard/"));
        Path shot = browser.screenshot("fleet");
        assertThat(shot).isNotEmptyFile();
    }

    @Test
    void aGpuThatGoesUnhealthyTurnsRedWithoutAReload() throws Exception {
        Host h = fx.register("live-l40s");
        fx.heartbeat(h);
        InventoryReport healthy = Inventories.report("live-l40s", 1, L40S, 4, 32_000, 128L << 30);
        fx.report(h, healthy);
        browser.signIn(ApiFixture.OPERATOR);
        String cell = ".host[data-host='live-l40s'] .gpu[data-uuid='" + Inventories.uuid("live-l40s", 2) + "']";
        browser.await(10, "GPU 2 shown free", d -> browser.all(cell + ".free").size() == 1);
        browser.script("window.stillTheSamePage = true");
        WebElement shown = browser.driver.findElement(By.cssSelector(cell));

        List<GpuReport> gpus = new ArrayList<>(healthy.gpus());
        gpus.set(2, Inventories.gpu("live-l40s", 2, L40S, false, "Xid 48: double bit ECC error"));
        fx.report(h, Inventories.withGpus(healthy, 2, gpus));

        WebElement red = browser.await(10, "GPU 2 turned unhealthy", d -> {
            List<WebElement> found = browser.all(cell + ".unhealthy");
            return found.isEmpty() ? null : found.get(0);
        });
        assertThat(red.getCssValue("background-color")).isEqualTo(RED);
        assertThat(red.getAttribute("title")).contains("Xid 48: double bit ECC error");
        assertThat(browser.script("return window.stillTheSamePage === true")).as("no reload happened").isEqualTo(true);
        assertThat(shown.getAttribute("data-state")).as("the cell was updated in place").isEqualTo("unhealthy");
        assertThat(browser.all(".host[data-host='live-l40s'] .gpu.unhealthy")).hasSize(1);
        assertThat(browser.screenshot("gpu-unhealthy")).isNotEmptyFile();
    }

    @Test
    void aHostPageChartsTheLastHourOfTelemetryAndListsItsWorkloads() {
        Host h = fx.register("tele-h100");
        fx.heartbeat(h);
        Instant minute = Instant.now().truncatedTo(ChronoUnit.MINUTES);
        for (int i = 0; i < 6; i++) {
            fx.report(h, telemetryReport("tele-h100", i + 1, 15 * i));
            assertThat(sampler.sampleAt(minute.minus(Duration.ofMinutes(55 - 10L * i)))).isTrue();
        }
        fx.offering("tele-1xh100", H100, 1, "2000m", "4Gi");
        placeOne("initech", "tele-1xh100", "initech-train");

        browser.signIn(ApiFixture.OPERATOR);
        browser.open("/dashboard/hosts/tele-h100");
        browser.await(10, "the workload is listed", d -> browser.all("#workloads tr[data-pod='initech-train']").size() == 1);
        for (String chart : List.of("utilization", "memory", "temperature", "power")) {
            WebElement svg = browser.driver.findElement(By.cssSelector("#chart-" + chart + " svg"));
            assertThat(Integer.parseInt(svg.getAttribute("data-points"))).as(chart).isGreaterThanOrEqualTo(7);
            List<WebElement> series = browser.all("#chart-" + chart + " g.series");
            assertThat(series).as(chart).extracting(s -> s.getAttribute("data-label")).containsExactly("GPU 0", "GPU 1");
            assertThat(browser.all("#chart-" + chart + " g.series path")).as(chart + " lines").hasSize(2);
        }
        assertThat(browser.all("#gpus tbody tr")).hasSize(2);
        assertThat(browser.driver.findElement(By.cssSelector("#workloads tr[data-pod='initech-train']")).getText())
                .contains("initech").contains("GPU-");
        assertThat(browser.screenshot("host")).isNotEmptyFile();
    }

    @Test
    void theRunningControlApiSamplesEachMinuteOnItsOwn() {
        Instant round = await().atMost(Duration.ofSeconds(25)).until(DashboardIT::roundThisMinute, r -> r != null);
        assertThat(sampler.sampleAt(round)).as("a minute is sampled once").isFalse();
    }

    @Test
    void samplingPrunesEventsOlderThanAWeek() throws Exception {
        try (var c = fx.api.database().dataSource().getConnection(); var st = c.createStatement()) {
            st.executeUpdate("INSERT INTO events (at, kind, object, type, reason, message) VALUES "
                    + "(now() - interval '8 days', 'host', 'old', 'Normal', 'Test', 'old'), (now() - interval '6 days', 'host', 'recent', 'Normal', 'Test', 'recent')");
            sampler.sampleAt(Instant.now().truncatedTo(ChronoUnit.MINUTES).minus(Duration.ofMinutes(90)));
            try (var rs = st.executeQuery("SELECT string_agg(object, ',' ORDER BY object) FROM events WHERE reason = 'Test'")) {
                rs.next();
                assertThat(rs.getString(1)).isEqualTo("recent");
            }
        }
    }

    @Test
    void aTenantPageShowsItsGpusInUseByModelOverTime() {
        Host h = fx.register("usage-h200");
        fx.heartbeat(h);
        fx.report(h, Inventories.report("usage-h200", 1, H200, 4, 32_000, 128L << 30));
        fx.offering("usage-1xh200", H200, 1, "2000m", "4Gi");
        Instant minute = Instant.now().truncatedTo(ChronoUnit.MINUTES);
        List<Instant> at = List.of(minute.minus(Duration.ofMinutes(40)), minute.minus(Duration.ofMinutes(30)),
                minute.minus(Duration.ofMinutes(20)));
        String token = fx.tenant("umbrella", List.of("usage-1xh200"));
        assertThat(sampler.sampleAt(at.get(0))).isTrue();
        place(token, "umbrella", "usage-1xh200", "umbrella-1", 1);
        assertThat(sampler.sampleAt(at.get(1))).isTrue();
        place(token, "umbrella", "usage-1xh200", "umbrella-2", 2);
        assertThat(sampler.sampleAt(at.get(2))).isTrue();

        browser.signIn(ApiFixture.OPERATOR);
        browser.open("/dashboard/tenants");
        WebElement row = browser.await(10, "umbrella listed", d -> {
            List<WebElement> rows = browser.all("#tenants tr[data-tenant='umbrella']");
            return rows.isEmpty() ? null : rows.get(0);
        });
        assertThat(row.getText()).contains("2 × " + H200);
        row.findElement(By.linkText("umbrella")).click();
        browser.await(10, "the usage chart", d -> browser.all("#chart-usage g.series").size() == 1);
        assertThat(browser.path()).isEqualTo("/dashboard/tenants/umbrella");
        assertThat(browser.all("#chart-usage g.series").get(0).getAttribute("data-label")).isEqualTo(H200);
        assertThat(browser.driver.findElement(By.cssSelector("#now tr[data-model='" + H200 + "']")).getText()).endsWith("2");

        @SuppressWarnings("unchecked")
        Map<String, Object> usage = (Map<String, Object>) browser.driver.executeAsyncScript(
                "fetch('/dashboard/data/tenants/umbrella?hours=1').then(r => r.json()).then(arguments[0])");
        List<Long> times = ((List<?>) usage.get("times")).stream().map(t -> ((Number) t).longValue()).toList();
        List<?> gpus = (List<?>) ((Map<?, ?>) ((List<?>) usage.get("models")).get(0)).get("gpus");
        List<Long> sampled = at.stream().map(t -> ((Number) gpus.get(times.indexOf(t.toEpochMilli()))).longValue()).toList();
        assertThat(sampled).as("GPUs in use at the three sampled minutes").containsExactly(0L, 1L, 2L);
        assertThat(((Number) gpus.get(gpus.size() - 1)).longValue()).as("now").isEqualTo(2L);
        assertThat(browser.screenshot("tenant")).isNotEmptyFile();
        assertThat(Files.exists(Browser.SCREENSHOTS)).isTrue();
    }

    /** The round the control-api's own sampler took for the current minute, or null while it has not. */
    private static Instant roundThisMinute() {
        return fx.api.database().read(c -> {
            try (var ps = c.prepareStatement(
                    "SELECT max(sampled_at) FROM telemetry_rounds WHERE sampled_at >= date_trunc('minute', now())");
                 var rs = ps.executeQuery()) {
                rs.next();
                return rs.getTimestamp(1) == null ? null : rs.getTimestamp(1).toInstant();
            }
        });
    }

    private static List<String> modelRow(String model) {
        return browser.all("#models tr[data-model='" + model + "'] td").stream().map(WebElement::getText).toList();
    }

    private static InventoryReport telemetryReport(String host, long generation, int load) {
        List<GpuReport> gpus = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            gpus.add(new GpuReport(Inventories.uuid(host, i), i, H100, 80L << 30, (long) (10 + load / 2 + i) << 30,
                    "00000000:1" + i + ":00.0", 0, false, true, null, Math.min(100, load + 10 * i), 5,
                    45 + load / 5 + i, 100_000L + 4_000L * load, Map.of()));
        }
        return Inventories.withGpus(Inventories.report(host, generation, H100, 2, 32_000, 128L << 30), generation, gpus);
    }

    /** A new tenant with one offering and one placed one-GPU workload. */
    private static void placeOne(String tenant, String offering, String podUid) {
        place(fx.tenant(tenant, List.of(offering)), tenant, offering, podUid, 1);
    }

    private static void place(String token, String tenant, String offering, String podUid, int expectInUse) {
        Http.Response r = fx.http.post("/v1/tenants/" + tenant + "/workloads", token,
                Pods.pod(podUid, podUid, offering, List.of(Pods.container("main", 1, "1", "1Gi"))));
        assertThat(r.status()).as(r.toString()).isEqualTo(201);
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(
                fx.http.get("/v1/gpus?tenant=" + tenant, ApiFixture.OPERATOR).json().get("items")).hasSize(expectInUse));
    }
}
