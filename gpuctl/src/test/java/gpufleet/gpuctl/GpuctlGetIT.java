package gpufleet.gpuctl;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import gpufleet.common.api.GpuReport;
import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.ApiFixture.Host;
import gpufleet.control.support.Http;
import gpufleet.control.support.Inventories;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** gpuctl get against a real control-api: kubectl-like tables, -o wide|json|yaml, filters, sorting. */
class GpuctlGetIT {
    static ApiFixture fx;
    static Fleet fleet;
    static Cli cli;
    static JsonNode workload;

    @BeforeAll
    static void start(@TempDir Path home) throws Exception {
        fx = ApiFixture.start();
        fleet = new Fleet(fx);
        fx.seedHost("gpu-01");
        Host second = fx.seedHost("gpu-02");
        List<GpuReport> gpus = new ArrayList<>(Inventories.seedPool("gpu-02", 1).gpus());
        gpus.set(1, Inventories.gpu("gpu-02", 1, Inventories.A6000, false, "Xid 79: fell off the bus"));
        fx.report(second, Inventories.withGpus(Inventories.seedPool("gpu-02", 1), 2, gpus));
        Host small = fx.register("gpu-small");
        fx.heartbeat(small);
        fx.report(small, Inventories.report("gpu-small", 1, Inventories.A100, 2, 16_000, 64L << 30));
        workload = fleet.pod("uid-1");
        Http.Response route = fx.http.put("/v1/tenants/" + Fleet.TENANT + "/routes/3b1f2c4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f", fleet.tenantToken, Map.of(
                "namespace", "default", "name", "web", "port", 80, "targets", List.of(Map.of("podUid", "uid-1", "port", 8080))));
        assertThat(route.status()).as(route.toString()).isIn(200, 201);
        cli = Cli.against(fx, home);
    }

    @AfterAll
    static void stop() {
        fx.close();
    }

    private static List<String> lines(Cli.Result r) {
        assertThat(r.code()).as(r.toString()).isZero();
        return r.out().lines().toList();
    }

    /** The cell under {@code header} in {@code row}: columns are aligned, so it starts where the header starts. */
    private static String cell(List<String> lines, String row, String header) {
        int at = lines.get(0).indexOf(header);
        String line = lines.stream().filter(l -> l.startsWith(row)).findFirst().orElseThrow(() -> new AssertionError(row + " in " + lines));
        return line.substring(at).split(" {2,}|$")[0].trim();
    }

    @Test
    void hostsAreListedWithKubectlColumnsSortedByName() {
        List<String> out = lines(cli.run("get", "hosts"));
        assertThat(out.get(0)).matches("NAME +STATUS +GPUS +FREE +ALLOCATED +UNHEALTHY +HEARTBEAT");
        assertThat(out).hasSize(4);
        assertThat(out.subList(1, 4)).extracting(l -> l.split(" +")[0]).containsExactly("gpu-01", "gpu-02", "gpu-small");
        assertThat(cell(out, "gpu-02", "STATUS")).isEqualTo("ready");
        assertThat(cell(out, "gpu-02", "UNHEALTHY")).isEqualTo("1");
        assertThat(cell(out, "gpu-small", "GPUS")).isEqualTo("2");
        assertThat(cell(out, "gpu-01", "HEARTBEAT")).matches(Cli.AGE);
    }

    @Test
    void wideAddsIdsResourcesAndDriver() {
        List<String> out = lines(cli.run("get", "hosts", "-o", "wide"));
        assertThat(out.get(0)).contains("ID", "CPU", "MEMORY", "DRIVER", "CUDA");
        assertThat(cell(out, "gpu-small", "DRIVER")).isEqualTo("550.127.05");
        assertThat(cell(out, "gpu-small", "CPU")).isEqualTo("16");
    }

    @Test
    void sortByAnyColumnNumbersByValue() {
        List<String> out = lines(cli.run("get", "hosts", "--sort-by", "gpus"));
        assertThat(out.get(1)).startsWith("gpu-small");
        List<String> byModel = lines(cli.run("get", "gpus", "--sort-by", "MODEL"));
        assertThat(byModel.get(1)).contains(Inventories.A100);
    }

    @Test
    void gpusFilterByStateHostModelAndTenant() {
        List<String> unhealthy = lines(cli.run("get", "gpus", "--state", "unhealthy", "-o", "wide"));
        assertThat(unhealthy).hasSize(2);
        assertThat(cell(unhealthy, Inventories.uuid("gpu-02", 1), "REASON")).isEqualTo("Xid 79: fell off the bus");
        String allocated = workload.at("/gpus/nvidia/0").asText();
        List<String> mine = lines(cli.run("get", "gpus", "--state", "allocated", "--tenant", Fleet.TENANT));
        assertThat(mine).hasSize(2);
        assertThat(cell(mine, allocated, "TENANT")).isEqualTo(Fleet.TENANT);
        List<String> small = lines(cli.run("get", "gpus", "--host", "gpu-small", "--model", Inventories.A100));
        assertThat(small.subList(1, 3)).extracting(l -> cell(small, l.split(" ")[0], "INDEX")).containsExactly("0", "1");
        assertThat(lines(cli.run("get", "gpus", "--state", "free"))).as("18 GPUs, one unhealthy, one allocated").hasSize(1 + 16);
    }

    @Test
    void jsonAndYamlAreTheApisObjects() throws Exception {
        Cli.Result json = cli.run("get", "gpus", "-o", "json");
        JsonNode items = new ObjectMapper().readTree(json.out()).get("items");
        assertThat(items).hasSize(18);
        assertThat(items.get(0).has("uuid")).isTrue();
        Cli.Result yaml = cli.run("get", "workloads", "-o", "yaml");
        assertThat(yaml.out()).startsWith("items:");
        JsonNode w = new ObjectMapper(new YAMLFactory()).readTree(yaml.out()).get("items").get(0);
        assertThat(w.get("podUid").asText()).isEqualTo("uid-1");
        assertThat(w.get("tenant").asText()).isEqualTo(Fleet.TENANT);
    }

    @Test
    void tenantsOfferingsWorkloadsRoutesAndTokens() {
        List<String> tenants = lines(cli.run("get", "tenants"));
        assertThat(tenants.get(0)).matches("NAME +STATUS +OFFERINGS +AGE");
        assertThat(cell(tenants, Fleet.TENANT, "STATUS")).isEqualTo("Enabled");
        List<String> offerings = lines(cli.run("get", "offerings", "--model", Inventories.A100));
        assertThat(offerings).hasSize(2);
        assertThat(cell(offerings, "seeweb-nvidia-1xa100", "GPUS")).isEqualTo("1");
        assertThat(lines(cli.run("get", "offerings", "--tenant", Fleet.TENANT))).hasSize(3);
        List<String> workloads = lines(cli.run("get", "workloads", "--tenant", Fleet.TENANT));
        assertThat(workloads.get(0)).matches("ID +TENANT +POD +STATUS +HOST +GPUS +AGE");
        String id = workload.get("id").asText();
        assertThat(cell(workloads, id, "POD")).isEqualTo("default/nvidia-smi");
        assertThat(cell(workloads, id, "STATUS")).isEqualTo("Placed");
        assertThat(cell(workloads, id, "GPUS")).isEqualTo("1");
        List<String> routes = lines(cli.run("get", "routes"));
        assertThat(routes.get(0)).matches("HOSTNAME +TENANT +SERVICE +PORT +READY +AGE");
        assertThat(routes.get(1)).startsWith("3b1f2c4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f-" + Fleet.TENANT + ".").contains("default/web");
        List<String> tokens = lines(cli.run("get", "tokens", "--tenant", Fleet.TENANT));
        assertThat(tokens).hasSize(2);
        assertThat(cell(tokens, tokens.get(1).split(" ")[0], "STATUS")).isEqualTo("Active");
    }

    @Test
    void wideWorkloadsAndTokensAndTheFleetsEvents() {
        String id = workload.get("id").asText();
        List<String> wide = lines(cli.run("get", "workloads", "-o", "wide"));
        assertThat(cell(wide, id, "OFFERING")).isEqualTo(Fleet.OFFERING);
        assertThat(cell(wide, id, "GPU-UUIDS")).isEqualTo(workload.at("/gpus/nvidia/0").asText());
        assertThat(lines(cli.run("get", "tokens", "-o", "wide")).get(0)).contains("HOST-ID", "EXPIRES");
        List<String> events = lines(cli.run("get", "events", "--host", "gpu-02"));
        assertThat(events.get(0)).matches("LAST-SEEN +TYPE +REASON +OBJECT +MESSAGE");
        assertThat(events.get(1)).containsPattern(Cli.AGE + " +Normal +Registered +host/\\S+ +host gpu-02 registered");
        assertThat(events).anySatisfy(l -> assertThat(l).containsPattern("Warning +GpuUnhealthy +gpu/"
                + Inventories.uuid("gpu-02", 1) + " +gpu 1 on host gpu-02 is unhealthy: Xid 79: fell off the bus"));
        assertThat(lines(cli.run("get", "events"))).anySatisfy(l -> assertThat(l).contains("workload/" + id));
    }

    @Test
    void anEmptyListSaysSoOnStandardError() {
        Cli.Result r = cli.run("get", "hosts", "--state", "lost");
        assertThat(r.code()).isZero();
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).isEqualTo("No hosts found.\n");
    }

    @Test
    void usageErrorsExitWith2() {
        assertThat(cli.run("get", "hosts", "--bogus").code()).isEqualTo(2);
        assertThat(cli.run("get").code()).isEqualTo(2);
        Cli.Result kind = cli.run("get", "nodes");
        assertThat(kind.code()).isEqualTo(2);
        assertThat(kind.err()).contains("gpuctl cannot list 'nodes'; it lists hosts, gpus");
        Cli.Result filter = cli.run("get", "tenants", "--model", "x");
        assertThat(filter.code()).isEqualTo(2);
        assertThat(filter.err()).contains("--model does not apply to tenants");
        Cli.Result state = cli.run("get", "gpus", "--state", "broken");
        assertThat(state.code()).isEqualTo(2);
        assertThat(state.err()).contains("--state must be one of allocated, free, unhealthy; got 'broken'");
        assertThat(cli.run("get", "gpus", "--sort-by", "colour").code()).isEqualTo(2);
        assertThat(cli.run("get", "hosts", "-o", "xml").code()).isEqualTo(2);
    }

    @Test
    void anUnknownHostFilterExitsWith3() {
        Cli.Result r = cli.run("get", "gpus", "--host", "gpu-99");
        assertThat(r.code()).as(r.toString()).isEqualTo(3);
        assertThat(r.err()).isEqualTo("error: host gpu-99 not found\n");
    }

    @Test
    void aBadTokenOrATenantsTokenExitsWith4() {
        Cli.Result bad = cli.with("GPUCTL_TOKEN", "gfo_not-a-real-token-0000000000").run("get", "hosts");
        assertThat(bad.code()).as(bad.toString()).isEqualTo(4);
        assertThat(bad.err()).startsWith("error: ");
        Cli.Result tenant = cli.run("get", "hosts", "--token", fleet.tenantToken);
        assertThat(tenant.code()).as(tenant.toString()).isEqualTo(4);
        assertThat(tenant.err()).contains("needs a operator token; this is a tenant token");
        Cli.Result none = cli.with("GPUCTL_TOKEN", null).run("get", "hosts");
        assertThat(none.code()).isEqualTo(4);
        assertThat(none.err()).contains("no operator token");
    }

    @Test
    void anUnreachableServerExitsWith6AndNoServerWith2() {
        String nobody = Cli.refusingServer();
        Cli.Result r = cli.run("get", "hosts", "--server", nobody);
        assertThat(r.code()).as(r.toString()).isEqualTo(6);
        assertThat(r.err()).startsWith("error: cannot connect to the control-api at " + nobody + "/");
        Cli.Result none = cli.with("GPUCTL_SERVER", null).run("get", "hosts");
        assertThat(none.code()).isEqualTo(2);
        assertThat(none.err()).contains("no control-api to talk to");
    }
}
