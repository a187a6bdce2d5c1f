package gpufleet.tenant.provider;

import static org.assertj.core.api.Assertions.assertThat;

import gpufleet.common.api.WorkloadView;
import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.Pods;
import java.net.URI;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The agent lists its workloads every second against a real control-api: while nothing changes
 * it gets the list it already has (the provider answers 304, nothing is parsed again); a change
 * is read at once.
 */
class WorkloadListIT {
    ApiFixture fx;
    String token;
    ProviderPods pods;

    @BeforeEach
    void start() {
        fx = ApiFixture.start();
        fx.seedOfferings();
        fx.seedHost("a6000-01");
        token = fx.tenant("skg00000", List.of("seeweb-nvidia-1xa6000"));
        pods = new ProviderPods(new ProviderClient(URI.create("http://127.0.0.1:" + fx.api.port()), token), "skg00000");
    }

    @AfterEach
    void stop() {
        fx.close();
    }

    @Test
    void anUnchangedListIsNotParsedAgainAndAChangeIsSeenAtOnce() throws Exception {
        assertThat(fx.http.post("/v1/tenants/skg00000/workloads", token, Pods.seedPod("uid-a")).status()).isEqualTo(201);
        List<WorkloadView> first = pods.list();
        assertThat(first).extracting(WorkloadView::podUid).containsExactly("uid-a");
        assertThat(pods.list()).as("unchanged: the very list already parsed").isSameAs(first);

        pods.delete("uid-a");
        List<WorkloadView> deleting = pods.list();
        assertThat(deleting).as("a change is a new list").isNotSameAs(first);
        assertThat(deleting.get(0).deletionRequested()).isTrue();
        assertThat(pods.list()).isSameAs(deleting);

        assertThat(fx.http.post("/v1/tenants/skg00000/workloads", token, Pods.seedPod("uid-b")).status()).isEqualTo(201);
        assertThat(pods.list()).extracting(WorkloadView::podUid).containsExactly("uid-a", "uid-b");
    }
}
