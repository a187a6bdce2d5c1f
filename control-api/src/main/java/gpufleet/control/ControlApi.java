package gpufleet.control;

import gpufleet.common.Json;
import gpufleet.control.auth.Access;
import gpufleet.control.auth.HostCredentials;
import gpufleet.control.stream.HostStreams;
import gpufleet.control.stream.StreamRoutes;
import gpufleet.control.auth.TokenRoutes;
import gpufleet.control.auth.TokenStore;
import gpufleet.control.config.ControlApiConfig;
import gpufleet.control.config.SealKey;
import gpufleet.control.dashboard.Dashboard;
import gpufleet.control.db.Database;
import gpufleet.control.edge.EdgeSync;
import gpufleet.control.edge.RouteRoutes;
import gpufleet.control.edge.RouteStore;
import gpufleet.control.fleet.FleetChanges;
import gpufleet.control.fleet.FleetQueries;
import gpufleet.control.fleet.FleetRoutes;
import gpufleet.control.fleet.FleetSnapshot;
import gpufleet.control.http.AccessLog;
import gpufleet.control.http.Bodies;
import gpufleet.control.http.ErrorMapper;
import gpufleet.control.http.SecurityHeaders;
import gpufleet.control.inventory.HeartbeatBatcher;
import gpufleet.control.inventory.HostRoutes;
import gpufleet.control.inventory.HostStore;
import gpufleet.control.inventory.LivenessJob;
import gpufleet.control.operator.OperatorRoutes;
import gpufleet.control.placement.PlacementLatency;
import gpufleet.control.ops.FleetCollector;
import gpufleet.control.ops.FleetProbe;
import gpufleet.control.ops.HealthRoutes;
import gpufleet.control.ops.Metrics;
import gpufleet.control.ops.MetricsServer;
import gpufleet.control.ops.OpenApiRoutes;
import gpufleet.control.quota.Quotas;
import gpufleet.control.quota.RateLimit;
import gpufleet.control.quota.StreamQuota;
import gpufleet.control.tenancy.TenancyRoutes;
import gpufleet.control.tenancy.TenantStore;
import gpufleet.control.usage.UsageQueries;
import gpufleet.control.usage.UsageRetention;
import gpufleet.control.usage.UsageRoutes;
import gpufleet.control.workload.HostEvictions;
import gpufleet.control.workload.HostWorkloads;
import gpufleet.control.workload.LegacySecrets;
import gpufleet.control.workload.PendingPlacer;
import gpufleet.control.workload.Wakeups;
import gpufleet.control.workload.WorkloadRoutes;
import gpufleet.control.workload.WorkloadStore;
import io.javalin.Javalin;
import io.javalin.json.JavalinJackson;
import java.net.InetSocketAddress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** One control-api process: the database, the background jobs and the HTTP server, wired. */
public final class ControlApi implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ControlApi.class);

    private final Database db;
    private final HeartbeatBatcher heartbeats;
    private final HostCredentials hostCredentials;
    private final LivenessJob liveness;
    private final UsageRetention usageRetention;
    private final Wakeups wakeups;
    private final PendingPlacer placer;
    private final EdgeSync edge;
    private final WorkloadStore workloads;
    private final StreamQuota streamQuota;
    private final FleetProbe probe;
    private final Javalin app;
    private final Metrics metrics;
    private MetricsServer metricsServer;
    private final String firstOperatorToken;

    private ControlApi(ControlApiConfig config) {
        this.metrics = new Metrics();
        this.db = new Database(config, metrics.registry());
        db.migrate();
        LegacySecrets.sealAll(db, config.sealKey());
        this.hostCredentials = new HostCredentials(config);
        TokenStore tokens = new TokenStore(db, hostCredentials);
        this.firstOperatorToken = tokens.bootstrapOperator(config.operatorToken());
        this.heartbeats = new HeartbeatBatcher(db);
        this.liveness = new LivenessJob(db, config.heartbeatGrace(), config.lostAfter(), config.livenessInterval());
        this.usageRetention = new UsageRetention(db, config.usageRetentionMonths());
        this.wakeups = new Wakeups(config, db);
        PlacementLatency latency = new PlacementLatency(metrics.registry());
        this.placer = new PendingPlacer(db, wakeups, config.placementRetry(), latency);
        HostStore hosts = new HostStore(db, tokens);
        Quotas quotas = new Quotas(config.quotas());
        TenantStore tenants = new TenantStore(db, quotas);
        Bodies bodies = new Bodies(config.maxBodyBytes());
        Access access = new Access(tokens);
        this.workloads = new WorkloadStore(db, wakeups, quotas, config.sealKey(), latency);
        RouteStore routes = new RouteStore(db, wakeups, config.edge(), quotas);
        this.edge = config.edge().enabled() ? new EdgeSync(db, config.edge()) : null;
        RateLimit rateLimit = new RateLimit(config.quotas());
        this.streamQuota = new StreamQuota(db, quotas);
        FleetSnapshot fleetSnapshot = new FleetSnapshot(new FleetChanges(db));
        // Lag figures as fresh as the liveness job's decisions; hosts named once half the grace has passed.
        this.probe = new FleetProbe(db, config.heartbeatGrace().dividedBy(2), config.livenessInterval());
        metrics.registry().getPrometheusRegistry().register(new FleetCollector(fleetSnapshot, probe, streamQuota, edge));
        this.app = Javalin.create(cfg -> {
            cfg.startup.showJavalinBanner = false;
            cfg.startup.showOldJavalinVersionWarning = false;
            cfg.http.maxRequestSize = config.maxBodyBytes() + 1;
            cfg.jsonMapper(new JavalinJackson(Json.mapper(), false));
            cfg.jetty.host = config.listenHost();
            cfg.jetty.port = config.listenPort();
            ErrorMapper.install(cfg);
            SecurityHeaders.install(cfg.routes);
            AccessLog.install(cfg.routes);
            metrics.install(cfg.routes);
            cfg.routes.beforeMatched("/v1/*", access::authenticate);
            cfg.routes.beforeMatched("/v1/*", rateLimit::check);
            HealthRoutes.install(cfg.routes, db);
            OpenApiRoutes.install(cfg.routes);
            new HostRoutes(hosts, heartbeats, bodies).install(cfg.routes);
            cfg.events.serverStarted(fleetSnapshot::start);
            cfg.events.serverStopping(fleetSnapshot::close);
            cfg.events.serverStartFailed(fleetSnapshot::close);
            new FleetRoutes(new FleetQueries(db), fleetSnapshot, hosts).install(cfg.routes);
            new TenancyRoutes(tenants, tokens, bodies).install(cfg.routes);
            new TokenRoutes(tokens, tenants, bodies).install(cfg.routes);
            new RouteRoutes(routes, bodies).install(cfg.routes);
            new WorkloadRoutes(workloads, new HostWorkloads(db, config.sealKey()),
                    new HostEvictions(db, wakeups), wakeups, bodies).install(cfg.routes);
            new StreamRoutes(new HostStreams(db, config.sealKey()), bodies, access, streamQuota).install(cfg.routes);
            new OperatorRoutes(db, hosts, wakeups).install(cfg.routes);
            new UsageRoutes(new UsageQueries(db)).install(cfg.routes);
            Dashboard.install(cfg, db, tokens, fleetSnapshot);
        });
    }

    /** Migrates the database, makes sure an operator token exists, and starts serving. */
    public static ControlApi start(ControlApiConfig config) {
        ControlApi api = new ControlApi(config);
        log.info("sealing key {} ({})", config.sealKey().keyId(), SealKey.FILE_VARIABLE);
        try {
            api.app.start();
            InetSocketAddress m = config.metricsListen();
            api.metricsServer = new MetricsServer(m.getHostString(), m.getPort(), api.metrics);
        } catch (RuntimeException e) {
            api.close();
            throw e;
        }
        log.info("control-api listening on {}:{}, metrics on {}:{}", config.listenHost(), api.port(),
                config.metricsListen().getHostString(), api.metricsPort());
        return api;
    }

    public int port() {
        return app.port();
    }

    /** The port of the metrics listener (GPUFLEET_METRICS_LISTEN), apart from the API's. */
    public int metricsPort() {
        return metricsServer.port();
    }

    public Database database() {
        return db;
    }

    public LivenessJob liveness() {
        return liveness;
    }

    /** The metering's retention job (GPUFLEET_USAGE_RETENTION_MONTHS); tests run its rounds. */
    public UsageRetention usageRetention() {
        return usageRetention;
    }

    /** Workloads without HTTP in front: for benchmarks that measure the placement transaction alone. */
    public WorkloadStore workloads() {
        return workloads;
    }

    /** The edge sync, when GPUFLEET_EDGE_ADMIN_URL names a Caddy to keep in step; null otherwise. */
    public EdgeSync edge() {
        return edge;
    }

    /** Long polls parked on this replica, by host. */
    public Wakeups wakeups() {
        return wakeups;
    }

    /** This replica's count of each tenant's open streams, against its stream quota. */
    public StreamQuota streamQuota() {
        return streamQuota;
    }

    /** This replica's in-memory copy of the live host credentials. */
    public HostCredentials hostCredentials() {
        return hostCredentials;
    }

    public PendingPlacer placer() {
        return placer;
    }

    /** The operator token created on this start, if this start created one (printed once by Main). */
    public String firstOperatorToken() {
        return firstOperatorToken;
    }

    /** The HTTP routes this server has (the OpenAPI test compares them with the document). */
    public java.util.List<io.javalin.router.ParsedEndpoint> routes() {
        return app.unsafe.internalRouter.allHttpHandlers();
    }

    /** Graceful: stop taking requests, let in-flight ones finish, flush heartbeats, close the pool. */
    @Override
    public void close() {
        wakeups.close();
        workloads.close();
        if (edge != null) {
            edge.close();
        }
        app.stop();
        if (metricsServer != null) {
            metricsServer.close();
        }
        placer.close();
        probe.close();
        liveness.close();
        usageRetention.close();
        heartbeats.close();
        hostCredentials.close();
        db.close();
    }
}
