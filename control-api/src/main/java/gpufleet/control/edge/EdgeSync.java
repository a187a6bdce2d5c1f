package gpufleet.control.edge;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import gpufleet.common.Json;
import gpufleet.control.config.EdgeSettings;
import gpufleet.control.db.Database;
import gpufleet.control.db.SingletonJob;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps Caddy's configuration equal to the routes table: each round builds the whole document,
 * reads Caddy's, and loads ours only when they differ. A restarted Caddy (which comes back with
 * its bare start-up configuration) is therefore whole again within one round. One replica syncs
 * per round (an advisory lock); the others skip.
 */
public final class EdgeSync implements AutoCloseable {
    static final long LOCK_KEY = 0x6770_7566_0004L;
    private static final Logger log = LoggerFactory.getLogger(EdgeSync.class);

    private final Database db;
    private final EdgeSettings edge;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final SingletonJob job;
    private volatile String lastProblem;
    /** When Caddy's admin API stopped answering (System.nanoTime()), 0 while it answers: its loss and return are told once each. */
    private volatile long unreachableSince;
    /** Wall-clock millis of the last round that left Caddy equal to the routes table; 0 before one. */
    private volatile long inStepAtMillis;
    private volatile int skippedRoutes;
    private volatile long failedRounds;

    public EdgeSync(Database db, EdgeSettings edge) {
        this.db = db;
        this.edge = edge;
        this.job = new SingletonJob("edge-sync", edge.syncInterval(), this::runOnce);
    }

    /** One round: returns 1 when Caddy was loaded, 0 when it was already right, -1 when another replica holds the lock. */
    public int runOnce() {
        return SingletonJob.underLock(db, LOCK_KEY, c -> {
            List<String> skipped = new ArrayList<>();
            List<EdgeConfig.Route> routes = routes(c, skipped);
            skippedRoutes = skipped.size();
            if (!skipped.isEmpty()) {
                problem("routes left off the edge: " + String.join("; ", skipped));
            }
            ObjectNode want = EdgeConfig.of(edge, edge.adminUrl().getHost() + ":" + edge.adminUrl().getPort(), routes);
            try {
                HttpResponse<String> current = http.send(HttpRequest.newBuilder(URI.create(edge.adminUrl() + "/config/"))
                        .timeout(Duration.ofSeconds(5)).GET().build(), HttpResponse.BodyHandlers.ofString());
                answering();
                JsonNode have = current.statusCode() == 200 ? Json.mapper().readTree(current.body()) : null;
                if (want.equals(have)) {
                    lastProblem = skipped.isEmpty() ? null : lastProblem;
                    inStepAtMillis = System.currentTimeMillis();
                    return 0;
                }
                HttpResponse<String> load = http.send(HttpRequest.newBuilder(URI.create(edge.adminUrl() + "/load"))
                        .timeout(Duration.ofSeconds(60)).header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(Json.mapper().writeValueAsString(want))).build(),
                        HttpResponse.BodyHandlers.ofString());
                if (load.statusCode() != 200) {
                    problem("Caddy refused the edge configuration: " + load.statusCode() + " " + load.body().strip());
                    failedRounds++;
                    return 0;
                }
                log.info("edge configuration loaded into Caddy: {} route(s)", routes.size());
                lastProblem = skipped.isEmpty() ? null : lastProblem;
                inStepAtMillis = System.currentTimeMillis();
                return 1;
            } catch (IOException e) {
                failedRounds++;
                unreachable(e);
                return 0;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return 0;
            }
        });
    }

    /**
     * When this replica last saw Caddy equal to the routes table (wall-clock millis, 0 if never).
     * Only the replica that holds a round's lock syncs, so the fleet's figure is the largest
     * over the replicas.
     */
    public long inStepAtMillis() {
        return inStepAtMillis;
    }

    /** Routes the last round of this replica left off the edge (stored values today's checks refuse). */
    public int skippedRoutes() {
        return skippedRoutes;
    }

    /** Rounds of this replica that could not bring Caddy in step (unreachable, or it refused the load). */
    public long failedRounds() {
        return failedRounds;
    }

    /**
     * Logs the loss of Caddy's admin API once however many rounds fail, whatever each failure
     * says (refused while it is down, reset while it starts), and its return once.
     */
    private void unreachable(IOException e) {
        if (unreachableSince == 0) {
            unreachableSince = System.nanoTime();
            log.warn("Caddy's admin API at {} is unreachable ({}): its routes are loaded again when it answers", edge.adminUrl(), e.toString());
        }
    }

    private void answering() {
        long since = unreachableSince;
        if (since != 0) {
            unreachableSince = 0;
            log.info("Caddy's admin API at {} answers again after {} s", edge.adminUrl(),
                    String.format("%.1f", (System.nanoTime() - since) / 1e9));
        }
    }

    /** Logs a problem once, not every round. */
    private void problem(String message) {
        if (!message.equals(lastProblem)) {
            log.warn("{}", message);
            lastProblem = message;
        }
    }

    private static List<EdgeConfig.Route> routes(Connection c, List<String> skipped) throws SQLException {
        List<EdgeConfig.Route> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT r.hostname, r.tenant, r.namespace, r.name, coalesce((SELECT json_agg(u ORDER BY u) FROM (%s) x (u)), '[]')
                FROM routes r ORDER BY r.hostname""".formatted(RouteStore.READY_UPSTREAMS));
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                List<String> upstreams = new ArrayList<>();
                try {
                    Json.mapper().readTree(rs.getString(5)).forEach(n -> upstreams.add(n.asText()));
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
                try {
                    out.add(new EdgeConfig.Route(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4), upstreams));
                } catch (IllegalArgumentException e) {
                    // Stored before today's checks, or an address a host made up: left off the edge, never evaluated.
                    skipped.add(rs.getString(2) + "/" + rs.getString(3) + "/" + rs.getString(4) + ": " + e.getMessage());
                }
            }
        }
        return out;
    }

    @Override
    public void close() {
        job.close();
    }
}
