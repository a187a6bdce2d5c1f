package gpufleet.control.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.common.Json;
import gpufleet.common.api.GpuReport;
import gpufleet.common.api.InventoryReport;
import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.ApiFixture.Host;
import gpufleet.control.support.Inventories;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The fleet board's poll over HTTP with a dashboard session: the whole board without a cursor,
 * then only the hosts changed since the cursor it was given. Only these tests write hosts here,
 * one after another, so every change a delta can hold is the test's own.
 */
class FleetBoardIT {
    static ApiFixture fx;
    static DashboardForms forms;
    static DashboardForms.Session session;

    @BeforeAll
    static void start() {
        fx = ApiFixture.start(Map.of("GPUFLEET_HEARTBEAT_GRACE", "10m", "GPUFLEET_LOST_AFTER", "20m"));
        forms = new DashboardForms(fx.api.port());
        session = forms.signIn(ApiFixture.OPERATOR);
    }

    @AfterAll
    static void stop() {
        fx.close();
    }

    @Test
    void aPollWithACursorReturnsExactlyTheHostsChangedSinceAndTheirGpus() throws Exception {
        Host a = fx.seedHost("delta-a");
        fx.seedHost("delta-b");
        Host c = fx.seedHost("delta-c");
        JsonNode full = board(null);
        assertThat(full.get("full").asBoolean()).isTrue();
        String cursor = quiet(full.get("cursor").asText());

        assertThat(fx.http.post("/v1/hosts/delta-b/cordon", ApiFixture.OPERATOR, null).status()).isEqualTo(200);
        InventoryReport pool = Inventories.seedPool("delta-c", 2);
        List<GpuReport> gpus = new ArrayList<>(pool.gpus());
        gpus.set(5, Inventories.gpu("delta-c", 5, Inventories.A6000, false, "Xid 79: GPU has fallen off the bus"));
        fx.report(c, Inventories.withGpus(pool, 2, gpus));
        List<GpuReport> busy = new ArrayList<>();
        for (GpuReport g : Inventories.seedPool("delta-a", 2).gpus()) {
            busy.add(new GpuReport(g.uuid(), g.index(), g.name(), g.memoryTotalBytes(), g.memoryUsedBytes(), g.pciBusId(),
                    g.numaNode(), g.migEnabled(), g.healthy(), g.healthReason(), 97, 50, 81, 299_000L, g.topology()));
        }
        fx.report(a, Inventories.withGpus(Inventories.seedPool("delta-a", 2), 2, busy));
        assertThat(fx.http.get("/v1/gpus?host=delta-a", ApiFixture.OPERATOR).json().at("/items/0/utilizationGpu").asInt())
                .as("the report was taken").isEqualTo(97);

        JsonNode delta = board(cursor);
        assertThat(delta.get("full").asBoolean()).isFalse();
        assertThat(names(delta)).as("the hosts in %s (delta-a's report changed only telemetry)", delta)
                .containsExactly("delta-b", "delta-c");
        assertThat(delta.at("/hosts/0/state").asText()).isEqualTo("cordoned");
        assertThat(delta.at("/hosts/0/gpus").size()).as("a changed host comes with all its GPUs").isEqualTo(8);
        JsonNode fifth = delta.at("/hosts/1/gpus/5");
        assertThat(fifth.get("state").asText()).isEqualTo("unhealthy");
        assertThat(fifth.get("reason").asText()).isEqualTo("Xid 79: GPU has fallen off the bus");
        assertThat(delta.at("/summary/asOf").isTextual()).as("the totals ride along: %s", delta).isTrue();
        // Its own cursor may re-send a row whose transaction overlapped a background one; then nothing.
        quiet(delta.get("cursor").asText());
    }

    @Test
    void aCursorTooOldOrFromAnotherDatabaseGetsTheWholeBoard() throws Exception {
        fx.seedHost("old-a");
        JsonNode full = board(null);
        String[] cursor = full.get("cursor").asText().split("-");
        long readAt = Long.parseLong(cursor[1]);
        JsonNode old = board(cursor[0] + "-" + (readAt - 6 * 60_000));
        assertThat(old.get("full").asBoolean()).as("six minutes old").isTrue();
        assertThat(names(old)).contains("old-a");
        JsonNode future = board((Long.parseLong(cursor[0]) + 1_000_000) + "-" + readAt);
        assertThat(future.get("full").asBoolean()).as("a transaction this database has not reached").isTrue();
        assertThat(names(future)).contains("old-a");
    }

    @Test
    void aMalformedCursorIsRefusedNamingIt() throws Exception {
        for (String bad : List.of("abc", "12", "1-2-3", "-5-6", "99999999999999999999-1")) {
            HttpResponse<String> r = get("/dashboard/data/fleet?since=" + URLEncoder.encode(bad, StandardCharsets.UTF_8));
            assertThat(r.statusCode()).as(bad + ": " + r.body()).isEqualTo(400);
            assertThat(Json.mapper().readTree(r.body()).get("message").asText()).as(bad).startsWith("since ");
        }
        HttpResponse<String> typo = get("/dashboard/data/fleet?cursor=1-2");
        assertThat(typo.statusCode()).isEqualTo(400);
        assertThat(typo.body()).contains("unknown query parameter 'cursor'");
    }

    /**
     * A cursor after which nothing has changed. A cursor is the oldest transaction running when it
     * was read, so one read beside a background write (a session's touch, a timer's pass) re-sends
     * the rows of the last committed changes once; the next cursor no longer does.
     */
    private static String quiet(String cursor) throws Exception {
        for (int i = 0; i < 50; i++) {
            JsonNode next = board(cursor);
            if (next.get("hosts").isEmpty()) {
                return cursor;
            }
            cursor = next.get("cursor").asText();
            Thread.sleep(100);
        }
        throw new AssertionError("the board never stopped changing");
    }

    private static JsonNode board(String since) throws Exception {
        HttpResponse<String> r = get("/dashboard/data/fleet"
                + (since == null ? "" : "?since=" + URLEncoder.encode(since, StandardCharsets.UTF_8)));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return Json.mapper().readTree(r.body());
    }

    private static HttpResponse<String> get(String path) {
        return forms.get(path, Map.of("Cookie", Sessions.COOKIE + "=" + session.cookie()));
    }

    private static List<String> names(JsonNode board) {
        List<String> out = new ArrayList<>();
        board.get("hosts").forEach(h -> out.add(h.get("name").asText()));
        return out;
    }
}
