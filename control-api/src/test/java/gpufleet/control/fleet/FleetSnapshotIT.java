package gpufleet.control.fleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import gpufleet.control.db.Database;
import gpufleet.control.fleet.FleetChanges.Cursor;
import gpufleet.control.fleet.FleetSnapshot.Delta;
import gpufleet.control.fleet.Views.HostRow;
import gpufleet.control.support.ApiFixture;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Two replicas' snapshots of one database, refreshed only when the test says (never started), so
 * one can be made to lag the other as replicas do between their refreshes.
 */
class FleetSnapshotIT {
    static ApiFixture fx;
    static Database db;

    @BeforeAll
    static void start() {
        fx = ApiFixture.start(Map.of("GPUFLEET_HEARTBEAT_GRACE", "10m", "GPUFLEET_LOST_AFTER", "20m"));
        db = new Database(ApiFixture.config(fx.database, Map.of()), new SimpleMeterRegistry());
    }

    @AfterAll
    static void stop() {
        db.close();
        fx.close();
    }

    @Test
    void aCursorFromAReplicaThatReadLaterIsAnsweredAfterReadingUpToIt() {
        fx.seedHost("lag-a");
        FleetSnapshot behind = new FleetSnapshot(new FleetChanges(db));
        FleetSnapshot ahead = new FleetSnapshot(new FleetChanges(db));
        Cursor old = behind.since(null).cursor();
        fx.seedHost("lag-b");
        assertThat(fx.http.post("/v1/hosts/lag-a/cordon", ApiFixture.OPERATOR, null).status()).isEqualTo(200);
        Cursor newer = ahead.since(null).cursor();
        assertThat(newer.xid()).as("writes since %s", old).isGreaterThan(old.xid());

        Delta d = behind.since(newer);
        assertThat(d.full()).isFalse();
        assertThat(d.cursor().xid()).as("read up to the other replica's cursor first").isGreaterThanOrEqualTo(newer.xid());
        assertThat(behind.since(old).hosts()).as("what it read on the way")
                .extracting(HostRow::name, HostRow::state).contains(tuple("lag-a", "cordoned"), tuple("lag-b", "ready"));
    }

    @Test
    void aPollOlderThanTheKeptRefreshesStillGetsEveryHostChangedSince() {
        for (String name : List.of("kept-a", "kept-b", "kept-c")) {
            fx.seedHost(name);
        }
        FleetSnapshot snapshot = new FleetSnapshot(new FleetChanges(db), 2);
        Cursor before = snapshot.since(null).cursor();
        for (String name : List.of("kept-a", "kept-b", "kept-c")) {
            assertThat(fx.http.post("/v1/hosts/" + name + "/cordon", ApiFixture.OPERATOR, null).status()).isEqualTo(200);
            snapshot.refresh();
        }
        Delta d = snapshot.since(before);
        assertThat(d.full()).isFalse();
        assertThat(d.hosts()).as("kept-a's refresh is no longer kept")
                .extracting(HostRow::name).containsExactlyInAnyOrder("kept-a", "kept-b", "kept-c");
        assertThat(d.hosts()).extracting(HostRow::state).containsOnly("cordoned");
    }
}
