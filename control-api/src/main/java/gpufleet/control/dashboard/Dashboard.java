package gpufleet.control.dashboard;

import gpufleet.control.auth.TokenStore;
import gpufleet.control.db.Database;
import gpufleet.control.fleet.FleetChanges.Cursor;
import gpufleet.control.fleet.FleetSnapshot;
import gpufleet.control.http.ApiException;
import gpufleet.control.http.ErrorKind;
import gpufleet.control.http.Params;
import gpufleet.control.inventory.HostStore;
import io.javalin.config.JavalinConfig;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.javalin.http.Handler;
import io.javalin.http.HttpStatus;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The operators' dashboard under /dashboard: the fleet at a glance, a page per host with its
 * last hour of GPU telemetry, and tenants' GPU usage over time. Pages are static HTML whose
 * scripts poll the JSON under /dashboard/data every two seconds; the fleet page asks only for the
 * hosts changed since its last poll. Pages without a session
 * redirect to the login page; data without a session is a 401.
 */
public final class Dashboard {
    private static final Map<String, Integer> WINDOWS = Map.of("1", 1, "6", 6, "24", 24);

    private final Sessions sessions;
    private final Assets assets = new Assets();
    private final FleetBoardQueries fleet;
    private final TenantBoardQueries tenants;
    private final HostStore hosts;
    private final TelemetrySampler sampler;

    private Dashboard(Database db, TokenStore tokens, FleetSnapshot snapshot) {
        this.sessions = new Sessions(db, tokens);
        this.fleet = new FleetBoardQueries(db, snapshot);
        this.tenants = new TenantBoardQueries(db);
        this.hosts = new HostStore(db, tokens);
        this.sampler = new TelemetrySampler(db);
    }

    /** Adds the dashboard's routes, and runs the telemetry sampler while the server runs. */
    public static void install(JavalinConfig cfg, Database db, TokenStore tokens, FleetSnapshot snapshot) {
        Dashboard d = new Dashboard(db, tokens, snapshot);
        cfg.events.serverStarted(d.sampler::start);
        cfg.events.serverStopping(d.sampler::close);
        cfg.events.serverStartFailed(d.sampler::close);
        d.routes(cfg.routes);
    }

    private void routes(RoutesConfig r) {
        r.get("/dashboard/login", ctx -> assets.page(ctx, "login.html", null, Csrf.issueLoginToken(ctx)));
        r.post("/dashboard/login", this::login);
        r.post("/dashboard/logout", this::logout);
        r.get("/dashboard/assets/{file}", assets::file);
        r.get("/dashboard", page("fleet.html"));
        r.get("/dashboard/hosts/{host}", page("host.html"));
        r.get("/dashboard/tenants", page("tenants.html"));
        r.get("/dashboard/tenants/{tenant}", page("tenant.html"));
        r.get("/dashboard/data/fleet", data(this::fleetBoard));
        r.get("/dashboard/data/hosts/{host}", data(ctx -> ctx.json(fleet.host(hosts.resolve(ctx.pathParam("host"))))));
        r.get("/dashboard/data/tenants", data(ctx -> ctx.json(Map.of("tenants", tenants.tenants()))));
        r.get("/dashboard/data/tenants/{tenant}", data(this::tenantUsage));
    }

    private void login(Context ctx) {
        try {
            Csrf.checkLoginForm(ctx);
        } catch (ApiException e) {
            loginPage(ctx, e.kind().status(), e.getMessage());
            return;
        }
        String token = ctx.formParam("token");
        if (token == null || token.isBlank()) {
            loginPage(ctx, HttpStatus.BAD_REQUEST.getCode(), "Enter an operator token (it begins with gfo_).");
            return;
        }
        try {
            sessions.open(ctx, token);
        } catch (ApiException e) {
            loginPage(ctx, e.kind().status(), "Sign-in refused: " + e.getMessage());
            return;
        }
        ctx.removeCookie(Csrf.LOGIN_COOKIE, "/dashboard/login");
        ctx.redirect("/dashboard", HttpStatus.SEE_OTHER);
    }

    /** The login page again, with the reason and a fresh form token. */
    private void loginPage(Context ctx, int status, String error) {
        ctx.status(status);
        assets.page(ctx, "login.html", error, Csrf.issueLoginToken(ctx));
    }

    /** Signing out is a form of the session too: a page elsewhere must not end an operator's session. */
    private void logout(Context ctx) {
        String secret = Sessions.secret(ctx);
        if (secret != null) {
            Csrf.checkSessionForm(ctx, secret);
            sessions.close(ctx);
        }
        ctx.redirect("/dashboard/login", HttpStatus.SEE_OTHER);
    }

    private Handler page(String name) {
        return ctx -> {
            if (sessions.valid(ctx)) {
                assets.page(ctx, name, null, Sessions.formToken(ctx));
            } else {
                ctx.redirect("/dashboard/login", HttpStatus.SEE_OTHER);
            }
        };
    }

    private Handler data(Handler handler) {
        return ctx -> {
            if (!sessions.valid(ctx)) {
                throw new ApiException(ErrorKind.UNAUTHORIZED, "sign in to the dashboard at /dashboard/login");
            }
            ctx.header("Cache-Control", "no-store");
            handler.handle(ctx);
        };
    }

    /** What changed since ?since=, or the whole board without it. */
    private void fleetBoard(Context ctx) {
        Params.only(ctx, Set.of("since"));
        Cursor since = Cursor.parse("since", ctx.queryParam("since"));
        ctx.json(fleet.board(since));
    }

    private void tenantUsage(Context ctx) {
        Params.only(ctx, Set.of("hours"));
        String hours = Objects.requireNonNullElse(ctx.queryParam("hours"), "1");
        if (!WINDOWS.containsKey(hours)) {
            throw ApiException.invalid("hours", "hours must be 1, 6 or 24; got '" + hours + "'");
        }
        ctx.json(tenants.usage(ctx.pathParam("tenant"), WINDOWS.get(hours)));
    }
}
