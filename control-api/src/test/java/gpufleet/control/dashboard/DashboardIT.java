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
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
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
    static final String A40 = "NVIDIA A40";
    static final String RED = "rgba(211, 47, 47, 1)";

    static ApiFixture fx;
    static Browser browser;
    static TelemetrySampler sampler;
    /**
     * The database's minute when the class started. Tests sample past minutes relative to it, each
     * test its own minutes, so no two tests claim one minute whenever they run.
     */
    static Instant base;

    @BeforeAll
    static void start() {
        // Hosts heartbeat once here; a long grace keeps them ready for the whole class.
        fx = ApiFixture.start(Map.of("GPUFLEET_HEARTBEAT_GRACE", "10m", "GPUFLEET_LOST_AFTER", "20m"));
        browser = new Browser(fx.api.port());
        sampler = new TelemetrySampler(fx.api.database());
        base = databaseMinute();
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
        browser.await(30, "the open page sent back to sign in", d -> browser.path().equals("/dashboard/login"));
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
        browser.await(30, "both tenants' GPUs shown", d -> browser.all(".host[data-host='fleet-a6000'] .gpu.allocated").size() == 2);

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

        // The totals are each replica's counts of at most a second ago (FleetSnapshot), so they may trail the rows.
        browser.await(30, "the A6000 totals", d -> modelRow(Inventories.A6000).equals(List.of(Inventories.A6000, "1", "8", "6", "2", "0")));
        assertThat(modelRow(Inventories.A100)).containsExactly(Inventories.A100, "2", "3", "2", "0", "1");
        assertThat((List<?>) browser.script("return performance.getEntriesByType('resource').map(e => e.name)"))
                .as("everything the page loaded came from the control-api").isNotEmpty()
                .allSatisfy(url -> assertThat((String) url).startsWith(browser.base + "/dashboard/"));
        assertThat(browser.all(".host[data-host='fleet-a6000'] .gpu.free")).hasSize(6);
        assertThat(browser.all(".host[data-host='fleet-a6000'] .badge").get(0).getText()).isEqualTo("ready");
        assertThat(browser.all(".host[data-host='fleet-a100'] .badge").get(0).getText()).isEqualTo("ready");
        assertThat(browser.all(".host[data-host='fleet-a100'] .gpu")).hasSize(2);
        assertThat(browser.all(".host[data-host='zz-silent'] .gpu")).hasSize(1);
        assertThat(bad.findElement(By.className("who")).getText()).as("an unhealthy cell's mark").isEqualTo("!");
        assertThat(browser.all("#legend .key")).extracting(WebElement::getText).contains("free", "unhealthy", "acme", "globex");
        assertThat(browser.driver.findElement(By.id("updated")).getText()).startsWith("updated ");
        browser.screenshot("fleet");
    }

    @Test
    void aGpuThatGoesUnhealthyTurnsRedWithoutAReload() throws Exception {
        Host h = fx.register("live-l40s");
        fx.heartbeat(h);
        InventoryReport healthy = Inventories.report("live-l40s", 1, L40S, 4, 32_000, 128L << 30);
        fx.report(h, healthy);
        Host steady = fx.register("live-steady");
        fx.heartbeat(steady);
        fx.report(steady, Inventories.report("live-steady", 1, L40S, 2, 32_000, 128L << 30));
        browser.signIn(ApiFixture.OPERATOR);
        String cell = ".host[data-host='live-l40s'] .gpu[data-uuid='" + Inventories.uuid("live-l40s", 2) + "']";
        browser.await(30, "GPU 2 shown free", d -> browser.all(cell + ".free").size() == 1);
        browser.script("window.stillTheSamePage = true");
        WebElement shown = browser.driver.findElement(By.cssSelector(cell));

        List<GpuReport> gpus = new ArrayList<>(healthy.gpus());
        gpus.set(2, Inventories.gpu("live-l40s", 2, L40S, false, "Xid 48: double bit ECC error"));
        fx.report(h, Inventories.withGpus(healthy, 2, gpus));

        WebElement red = browser.await(30, "GPU 2 turned unhealthy", d -> {
            List<WebElement> found = browser.all(cell + ".unhealthy");
            return found.isEmpty() ? null : found.get(0);
        });
        assertThat(red.getCssValue("background-color")).isEqualTo(RED);
        assertThat(red.getAttribute("title")).contains("Xid 48: double bit ECC error");
        assertThat(browser.script("return window.stillTheSamePage === true")).as("no reload happened").isEqualTo(true);
        assertThat(shown.getAttribute("data-state")).as("the cell was updated in place").isEqualTo("unhealthy");
        assertThat((List<?>) browser.script("return performance.getEntriesByType('resource').map(e => e.name)"
                + ".filter(n => n.includes('/dashboard/data/fleet?since='))"))
                .as("later polls asked only for what changed since the last").isNotEmpty();
        assertThat(browser.all(".host[data-host='live-steady'] .gpu.free")).as("a host no delta named stays as it was").hasSize(2);
        assertThat(browser.all(".host[data-host='live-l40s'] .gpu.unhealthy")).hasSize(1);
        assertThat(browser.all(".host[data-host='live-l40s'] .gpu.free")).hasSize(3);
        browser.await(30, "the model totals count it", d -> modelRow(L40S).equals(List.of(L40S, "2", "6", "5", "0", "1")));
        assertThat(browser.all("#models tr[data-model='" + L40S + "'] td.bad")).extracting(WebElement::getText).containsExactly("1");
        browser.screenshot("gpu-unhealthy");
    }

    @Test
    void aHostPageChartsTheLastHourOfTelemetryAndListsItsWorkloads() {
        Host h = fx.register("tele-h100");
        fx.heartbeat(h);
        List<Instant> sampled = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            fx.report(h, telemetryReport("tele-h100", H100, i + 1, 15 * i));
            sampled.add(base.minus(Duration.ofMinutes(50 - 7L * i)));
            assertThat(sampler.sampleAt(sampled.get(i))).isTrue();
        }
        fx.offering("tele-1xh100", H100, 1, "2000m", "4Gi");
        placeOne("initech", "tele-1xh100", "initech-train");

        browser.signIn(ApiFixture.OPERATOR);
        browser.open("/dashboard/hosts/tele-h100");
        browser.await(30, "the workload is listed", d -> browser.all("#workloads tr[data-pod='initech-train']").size() == 1);
        for (String chart : List.of("utilization", "memory", "temperature", "power")) {
            WebElement svg = browser.driver.findElement(By.cssSelector("#chart-" + chart + " svg"));
            assertThat(Integer.parseInt(svg.getAttribute("data-points"))).as(chart).isGreaterThanOrEqualTo(7);
            List<WebElement> series = browser.all("#chart-" + chart + " g.series");
            assertThat(series).as(chart).extracting(s -> s.getAttribute("data-label")).containsExactly("GPU 0", "GPU 1");
            assertThat(browser.all("#chart-" + chart + " g.series path")).as(chart + " lines").hasSize(2);
        }
        // The reports' telemetry (load 0, 15, .. 75 %) at the minutes it was sampled, then now.
        ChartOnPage utilization = ChartOnPage.read(browser, "chart-utilization");
        assertThat(sampled).extracting(t -> utilization.at("GPU 0", t)).containsExactly(0.0, 15.0, 30.0, 45.0, 60.0, 75.0);
        assertThat(sampled).extracting(t -> utilization.at("GPU 1", t)).containsExactly(10.0, 25.0, 40.0, 55.0, 70.0, 85.0);
        assertThat(utilization.latest("GPU 1")).as("now").isEqualTo(85.0);
        utilization.assertDrawnAsItsValues("GPU 0");
        utilization.assertDrawnAsItsValues("GPU 1");
        ChartOnPage temperature = ChartOnPage.read(browser, "chart-temperature");
        assertThat(sampled).extracting(t -> temperature.at("GPU 0", t)).containsExactly(45.0, 48.0, 51.0, 54.0, 57.0, 60.0);
        ChartOnPage power = ChartOnPage.read(browser, "chart-power");
        assertThat(sampled).extracting(t -> power.at("GPU 0", t)).containsExactly(100.0, 160.0, 220.0, 280.0, 340.0, 400.0);
        power.assertDrawnAsItsValues("GPU 0");
        ChartOnPage memory = ChartOnPage.read(browser, "chart-memory");
        assertThat(sampled).extracting(t -> memory.at("GPU 1", t)).as("GiB").containsExactly(11.0, 18.0, 26.0, 33.0, 41.0, 48.0);

        assertThat(browser.driver.findElement(By.cssSelector("#host-facts dd[data-fact='State']")).getText()).isEqualTo("ready");
        assertThat(browser.driver.findElement(By.cssSelector("#host-facts dd[data-fact='GPUs']")).getText())
                .isEqualTo("2 (1 free, 1 allocated, 0 unhealthy)");
        List<WebElement> rows = browser.all("#gpus tbody tr");
        assertThat(rows).hasSize(2);
        assertThat(rows.get(0).getText()).contains(Inventories.uuid("tele-h100", 0), "75 %", "47.0 GiB / 80.0 GiB", "60 °C", "400 W");
        assertThat(rows).extracting(r -> r.getAttribute("data-state")).containsExactlyInAnyOrder("free", "allocated");
        assertThat(browser.driver.findElement(By.cssSelector("#workloads tr[data-pod='initech-train']")).getText())
                .contains("initech").contains("GPU-");
        browser.screenshot("host");
    }

    @Test
    void theRunningControlApiSamplesEachMinuteOnItsOwn() {
        Host h = fx.register("tick-a40");
        fx.heartbeat(h);
        fx.report(h, telemetryReport("tick-a40", A40, 1, 40));
        // Whatever was sampled since this minute began may predate the host: forget it, so the
        // control-api's own sampler takes a round with the host in it, in this minute or the next.
        Instant from = databaseMinute();
        forgetRoundsSince(from);
        Round round = await("the control-api's own sampler takes a round with host tick-a40").atMost(Duration.ofSeconds(150))
                .until(() -> roundWith(h, from), r -> r != null);
        assertThat(round.at()).as("rounds are whole minutes").isEqualTo(round.at().truncatedTo(ChronoUnit.MINUTES));
        assertThat(round.utilization()).as("what the host last reported").containsExactly(40, 50);
        assertThat(sampler.sampleAt(round.at())).as("a minute is sampled once").isFalse();
    }

    @Test
    void samplingPrunesEventsOlderThanAWeek() throws Exception {
        try (var c = fx.api.database().dataSource().getConnection(); var st = c.createStatement()) {
            st.executeUpdate("INSERT INTO events (at, kind, object, type, reason, message) VALUES "
                    + "(now() - interval '8 days', 'host', 'old', 'Normal', 'Test', 'old'), (now() - interval '6 days', 'host', 'recent', 'Normal', 'Test', 'recent')");
            sampler.sampleAt(base.minus(Duration.ofMinutes(90)));
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
        List<Instant> at = List.of(base.minus(Duration.ofMinutes(47)), base.minus(Duration.ofMinutes(40)),
                base.minus(Duration.ofMinutes(33)));
        String token = fx.tenant("umbrella", List.of("usage-1xh200"));
        assertThat(sampler.sampleAt(at.get(0))).isTrue();
        place(token, "umbrella", "usage-1xh200", "umbrella-1", 1);
        assertThat(sampler.sampleAt(at.get(1))).isTrue();
        place(token, "umbrella", "usage-1xh200", "umbrella-2", 2);
        assertThat(sampler.sampleAt(at.get(2))).isTrue();

        browser.signIn(ApiFixture.OPERATOR);
        browser.open("/dashboard/tenants");
        WebElement row = browser.await(30, "umbrella listed", d -> {
            List<WebElement> rows = browser.all("#tenants tr[data-tenant='umbrella']");
            return rows.isEmpty() ? null : rows.get(0);
        });
        assertThat(row.getText()).contains("2 × " + H200);
        row.findElement(By.linkText("umbrella")).click();
        browser.await(30, "the usage chart", d -> browser.all("#chart-usage g.series").size() == 1);
        assertThat(browser.path()).isEqualTo("/dashboard/tenants/umbrella");
        assertThat(browser.all("#chart-usage g.series").get(0).getAttribute("data-label")).isEqualTo(H200);
        assertThat(browser.driver.findElement(By.cssSelector("#now tr[data-model='" + H200 + "']")).getText()).endsWith("2");

        ChartOnPage usage = ChartOnPage.read(browser, "chart-usage");
        assertThat(at).extracting(t -> usage.at(H200, t)).as("GPUs in use at the three sampled minutes").containsExactly(0.0, 1.0, 2.0);
        assertThat(usage.latest(H200)).as("now").isEqualTo(2.0);
        usage.assertDrawnAsItsValues(H200);
        String today = LocalDate.now(ZoneOffset.UTC).toString();
        assertThat(browser.all("#days tr[data-day='" + today + "'][data-model='" + H200 + "']"))
                .as("today's metered GPU-hours of the model").hasSize(1);
        browser.screenshot("tenant");
    }

    /** A round of the telemetry sampler: when, and the GPUs' utilization it recorded for one host. */
    record Round(Instant at, List<Integer> utilization) {}

    /** The first round at or after {@code from} that sampled host {@code h}, or null while there is none. */
    private static Round roundWith(Host h, Instant from) {
        return fx.api.database().read(c -> {
            try (var ps = c.prepareStatement("SELECT sampled_at, utilization_gpu FROM gpu_telemetry"
                    + " WHERE host_id = ?::uuid AND sampled_at >= ? ORDER BY sampled_at LIMIT 1")) {
                ps.setString(1, h.id());
                ps.setTimestamp(2, Timestamp.from(from));
                try (var rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        return null;
                    }
                    List<Integer> utilization = new ArrayList<>();
                    for (Object v : (Object[]) rs.getArray(2).getArray()) {
                        utilization.add(((Number) v).intValue());
                    }
                    return new Round(rs.getTimestamp(1).toInstant(), utilization);
                }
            }
        });
    }

    private static void forgetRoundsSince(Instant from) {
        fx.api.database().tx(c -> {
            for (String table : List.of("gpu_telemetry", "tenant_gpu_usage", "telemetry_rounds")) {
                try (var ps = c.prepareStatement("DELETE FROM " + table + " WHERE sampled_at >= ?")) {
                    ps.setTimestamp(1, Timestamp.from(from));
                    ps.executeUpdate();
                }
            }
            return null;
        });
    }

    /** The minute by the database's clock, which the sampler's rounds and the charts' windows use. */
    private static Instant databaseMinute() {
        return fx.api.database().read(c -> {
            try (var ps = c.prepareStatement("SELECT date_trunc('minute', now())"); var rs = ps.executeQuery()) {
                rs.next();
                return rs.getTimestamp(1).toInstant();
            }
        });
    }

    private static List<String> modelRow(String model) {
        return browser.all("#models tr[data-model='" + model + "'] td").stream().map(WebElement::getText).toList();
    }

    private static InventoryReport telemetryReport(String host, String model, long generation, int load) {
        List<GpuReport> gpus = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            gpus.add(new GpuReport(Inventories.uuid(host, i), i, model, 80L << 30, (long) (10 + load / 2 + i) << 30,
                    "00000000:1" + i + ":00.0", 0, false, true, null, Math.min(100, load + 10 * i), 5,
                    45 + load / 5 + i, 100_000L + 4_000L * load, Map.of()));
        }
        return Inventories.withGpus(Inventories.report(host, generation, model, 2, 32_000, 128L << 30), generation, gpus);
    }

    /** A new tenant with one offering and one placed one-GPU workload. */
    private static void placeOne(String tenant, String offering, String podUid) {
        place(fx.tenant(tenant, List.of(offering)), tenant, offering, podUid, 1);
    }

    private static void place(String token, String tenant, String offering, String podUid, int expectInUse) {
        Http.Response r = fx.http.post("/v1/tenants/" + tenant + "/workloads", token,
                Pods.pod(podUid, podUid, offering, List.of(Pods.container("main", 1, "1", "1Gi"))));
        assertThat(r.status()).as(r.toString()).isEqualTo(201);
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(
                fx.http.get("/v1/gpus?tenant=" + tenant, ApiFixture.OPERATOR).json().get("items")).hasSize(expectInUse));
    }
}
