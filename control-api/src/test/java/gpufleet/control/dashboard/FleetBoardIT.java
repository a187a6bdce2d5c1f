package gpufleet.control.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.common.Json;
import gpufleet.common.api.GpuReport;
import gpufleet.common.api.InventoryReport;
import gpufleet.control.ControlApi;
import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.ApiFixture.Host;
import gpufleet.control.support.Inventories;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The fleet board's poll over HTTP with a dashboard session: the whole board without a cursor,
 * then only the hosts changed since the cursor it was given. Only these tests write hosts here,
 * one after another, so every change a delta can hold is the test's own. Answers come from the
 * rows each replica refreshes once a second, so a test waits for an answer read after its writes
 * ({@link #readAfter}) before it says what the answer holds.
 */
class FleetBoardIT {
    static final Map<String, String> SETTINGS = Map.of("GPUFLEET_HEARTBEAT_GRACE", "10m", "GPUFLEET_LOST_AFTER", "20m");
    static ApiFixture fx;
    static ControlApi replica;
    static DashboardForms forms;
    static DashboardForms.Session session;

    @BeforeAll
    static void start() {
        fx = ApiFixture.start(SETTINGS);
        replica = fx.startReplica(SETTINGS);
        forms = new DashboardForms(fx.api.port());
        session = forms.signIn(ApiFixture.OPERATOR);
    }

    @AfterAll
    static void stop() {
        replica.close();
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

        JsonNode delta = readAfter(cursor, System.currentTimeMillis());
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
    void aChangeCommittedWhileAPollReadsIsSentByALaterPoll() throws Exception {
        fx.seedHost("late-a");
        fx.seedHost("late-b");
        String cursor = quiet(board(null).get("cursor").asText());
        try (Connection c = fx.database.connect()) {
            c.setAutoCommit(false);
            try (PreparedStatement ps = c.prepareStatement("""
                    UPDATE gpus SET healthy = false, health_reason = 'Xid 48: committed late'
                    WHERE idx = 3 AND host_id = (SELECT id FROM hosts WHERE name = 'late-a')""")) {
                assertThat(ps.executeUpdate()).isEqualTo(1);
            }
            // A newer transaction commits first, as the churn of a real fleet does.
            assertThat(fx.http.post("/v1/hosts/late-b/cordon", ApiFixture.OPERATOR, null).status()).isEqualTo(200);
            JsonNode during = readAfter(cursor, System.currentTimeMillis());
            assertThat(names(during)).as("late-a's change is not committed yet: %s", during).containsExactly("late-b");
            cursor = during.get("cursor").asText();
            c.commit();
        }
        JsonNode later = readAfter(cursor, System.currentTimeMillis());
        assertThat(names(later)).as("the poll after the commit, with the cursor read before it").contains("late-a");
        JsonNode gpu = hostIn(later, "late-a").at("/gpus/3");
        assertThat(gpu.get("state").asText()).isEqualTo("unhealthy");
        assertThat(gpu.get("reason").asText()).isEqualTo("Xid 48: committed late");
    }

    @Test
    void aCursorFromAnotherReplicaOrAnotherOperatorsBoardMissesNothing() throws Exception {
        Host h = fx.seedHost("other-a");
        String cursor = quiet(board(null).get("cursor").asText());
        InventoryReport pool = Inventories.seedPool("other-a", 2);
        List<GpuReport> gpus = new ArrayList<>(pool.gpus());
        gpus.set(0, Inventories.gpu("other-a", 0, Inventories.A6000, false, "Xid 79: GPU has fallen off the bus"));
        fx.report(h, Inventories.withGpus(pool, 2, gpus));
        long written = System.currentTimeMillis();
        DashboardForms.Session other = forms.signIn(ApiFixture.OPERATOR);
        JsonNode elsewhere = readAfter(new DashboardForms(replica.port()), other, cursor, written);
        assertThat(names(elsewhere)).as("another operator's session, on another replica: %s", elsewhere)
                .containsExactly("other-a");
        assertThat(elsewhere.at("/hosts/0/gpus/0/state").asText()).isEqualTo("unhealthy");
        // Back to this replica with the other's cursor: nothing is sent twice that had not changed.
        JsonNode back = readAfter(elsewhere.get("cursor").asText(), System.currentTimeMillis());
        assertThat(back.get("full").asBoolean()).isFalse();
        assertThat(names(back)).as("%s", back).isSubsetOf("other-a");
    }

    @Test
    void aCursorTooOldGetsTheWholeBoardAndOneFromAnotherDatabaseIsRefused() throws Exception {
        fx.seedHost("old-a");
        JsonNode full = readAfter(null, System.currentTimeMillis());
        String[] cursor = full.get("cursor").asText().split("-");
        long readAt = Long.parseLong(cursor[1]);
        JsonNode old = board(cursor[0] + "-" + (readAt - 6 * 60_000));
        assertThat(old.get("full").asBoolean()).as("six minutes old").isTrue();
        assertThat(names(old)).contains("old-a");
        String future = (Long.parseLong(cursor[0]) + 1_000_000) + "-" + readAt;
        HttpResponse<String> r = get("/dashboard/data/fleet?since=" + future);
        assertThat(r.statusCode()).as("a transaction this database has not reached: %s", r.body()).isEqualTo(400);
        assertThat(Json.mapper().readTree(r.body()).get("message").asText())
                .startsWith("since '" + future + "' is not a cursor of this fleet's database");
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
        long after = System.currentTimeMillis();
        for (int i = 0; i < 50; i++) {
            JsonNode next = readAfter(cursor, after);
            if (next.get("hosts").isEmpty()) {
                return cursor;
            }
            cursor = next.get("cursor").asText();
            after = next.get("at").asLong();
        }
        throw new AssertionError("the board never stopped changing");
    }

    /** The first answer to {@code since} read (the replica's rows refreshed) after {@code millis}. */
    private static JsonNode readAfter(String since, long millis) throws Exception {
        return readAfter(forms, session, since, millis);
    }

    private static JsonNode readAfter(DashboardForms on, DashboardForms.Session as, String since, long millis)
            throws Exception {
        for (int i = 0; i < 50; i++) {
            JsonNode b = board(on, as, since);
            if (b.get("at").asLong() > millis) {
                return b;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no answer read after " + millis);
    }

    private static JsonNode board(String since) throws Exception {
        return board(forms, session, since);
    }

    private static JsonNode board(DashboardForms on, DashboardForms.Session as, String since) throws Exception {
        HttpResponse<String> r = on.get("/dashboard/data/fleet"
                + (since == null ? "" : "?since=" + URLEncoder.encode(since, StandardCharsets.UTF_8)),
                Map.of("Cookie", Sessions.COOKIE + "=" + as.cookie()));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return Json.mapper().readTree(r.body());
    }

    private static HttpResponse<String> get(String path) {
        return forms.get(path, Map.of("Cookie", Sessions.COOKIE + "=" + session.cookie()));
    }

    private static JsonNode hostIn(JsonNode board, String name) {
        for (JsonNode h : board.get("hosts")) {
            if (h.get("name").asText().equals(name)) {
                return h;
            }
        }
        throw new AssertionError(name + " not in " + board);
    }

    private static List<String> names(JsonNode board) {
        List<String> out = new ArrayList<>();
        board.get("hosts").forEach(h -> out.add(h.get("name").asText()));
        return out;
    }
}
