package gpufleet.control.inventory;

import gpufleet.common.api.HostRegistration;
import gpufleet.common.api.InventoryReport;
import gpufleet.control.auth.Access;
import gpufleet.control.auth.Principal;
import gpufleet.control.auth.Role;
import gpufleet.control.http.ApiException;
import gpufleet.control.http.Bodies;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import java.time.Duration;
import java.util.UUID;

/**
 * The API host-agents talk to: register, heartbeat, inventory; and the operator's word on a host:
 * re-key, approval of its GPUs, its registered address.
 */
public final class HostRoutes {
    /** How long the join token of a re-key works: as long as a join token does by default. */
    static final Duration REKEY_TTL = Duration.ofHours(1);

    private final HostStore hosts;
    private final HeartbeatBatcher heartbeats;
    private final Bodies bodies;

    public HostRoutes(HostStore hosts, HeartbeatBatcher heartbeats, Bodies bodies) {
        this.hosts = hosts;
        this.heartbeats = heartbeats;
        this.bodies = bodies;
    }

    public void install(RoutesConfig routes) {
        routes.post("/v1/hosts/register", this::register);
        routes.post("/v1/hosts/{id}/heartbeat", this::heartbeat);
        routes.put("/v1/hosts/{id}/inventory", this::inventory);
        routes.post("/v1/hosts/{host}/rekey", this::rekey);
        routes.post("/v1/hosts/{host}/approve", this::approve);
        routes.put("/v1/hosts/{host}/address", this::address);
    }

    private void register(Context ctx) {
        Principal join = Access.require(ctx, Role.JOIN);
        HostRegistration req = bodies.read(ctx, HostRegistration.class);
        HostStore.Registered r = hosts.register(req.name(), join.tokenId(), ctx.ip());
        ctx.status(r.created() ? 201 : 200).json(r.host());
    }

    /** The operator revokes a host's credentials and gets a join token for that host alone. */
    private void rekey(Context ctx) {
        Principal operator = Access.operator(ctx);
        UUID id = hosts.resolve(ctx.pathParam("host"));
        ctx.json(hosts.rekey(id, operator.tokenId(), REKEY_TTL));
    }

    /** The operator approves the GPUs a host reported beyond its approved inventory. */
    private void approve(Context ctx) {
        Principal operator = Access.operator(ctx);
        UUID id = hosts.resolve(ctx.pathParam("host"));
        ctx.json(hosts.approvals().approve(id, operator.tokenId()));
    }

    /** The body of PUT /v1/hosts/{host}/address. */
    public record AddressRequest(String address) {}

    /** The operator sets the one address a host's published ports and stream server may use. */
    private void address(Context ctx) {
        Principal operator = Access.operator(ctx);
        UUID id = hosts.resolve(ctx.pathParam("host"));
        AddressRequest req = bodies.read(ctx, AddressRequest.class);
        ctx.json(hosts.approvals().setAddress(id, req.address(), operator.tokenId()));
    }

    private void heartbeat(Context ctx) {
        UUID id = hostId(ctx);
        Access.ownHost(ctx, id);
        ctx.future(() -> heartbeats.beat(id).thenRun(() -> ctx.status(204)));
    }

    private void inventory(Context ctx) {
        UUID id = hostId(ctx);
        Access.ownHost(ctx, id);
        InventoryReport report = bodies.read(ctx, InventoryReport.class);
        ctx.json(hosts.report(id, report, ctx.ip()));
    }

    private static UUID hostId(Context ctx) {
        UUID id = HostStore.parseUuid(ctx.pathParam("id"));
        if (id == null) {
            throw ApiException.invalid("id", "host id '" + ctx.pathParam("id") + "' is not a UUID");
        }
        return id;
    }
}
