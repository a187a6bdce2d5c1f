package gpufleet.common.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import gpufleet.common.Invalid;
import gpufleet.common.Json;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The wire rules of init containers, security, volumes, probes and hooks, as the API server's. */
class PodSettingsTest {
    private static final String POD = """
            {"podUid":"6f1c3b1e-9a0e-4c59-9a53-2b7f1f3d7c11","namespace":"default","name":"p","offering":"h100-1",
             %s}""";

    private static WorkloadSpec read(String rest) throws Exception {
        return Json.mapper().readValue(POD.formatted(rest), WorkloadSpec.class);
    }

    private static String c(String name, String gpus, String cpu, String extra) {
        return "{\"name\":\"" + name + "\",\"image\":\"busybox:1\",\"resources\":{\"gpus\":" + gpus + ",\"cpu\":\"" + cpu
                + "\",\"memory\":\"1Gi\"}" + extra + "}";
    }

    @Test
    void theEffectiveRequestIsTheLargerOfAppsWithSidecarsAndTheBiggestInitContainer() throws Exception {
        WorkloadSpec spec = read("\"initContainers\":[" + c("fetch", "2", "6", "") + "," + c("log", "0", "1", ",\"restartPolicy\":\"Always\"")
                + "],\"containers\":[" + c("main", "1", "2", "") + "," + c("side", "0", "1", "") + "]");
        assertThat(spec.gpus()).isEqualTo(2);
        assertThat(spec.cpuMillis()).isEqualTo(6000); // fetch alone: 6; after it, log + main + side = 4
        assertThat(spec.sidecars()).extracting(WorkloadSpec.Container::name).containsExactly("log");
        assertThat(spec.allContainers()).extracting(WorkloadSpec.Container::name).containsExactly("fetch", "log", "main", "side");
    }

    @Test
    void aPodOfTheOldFieldsStillReads() throws Exception {
        WorkloadSpec spec = read("\"containers\":[" + c("main", "1", "2", "") + "]");
        assertThat(spec.initContainers()).isEmpty();
        assertThat(spec.volumes()).isEmpty();
        assertThat(spec.containers().get(0).volumeMounts()).isEmpty();
        assertThat(spec.gpus()).isEqualTo(1);
    }

    @Test
    void brokenRulesAreRefusedNamingTheField() {
        String main = c("main", "1", "1", "");
        List<List<String>> cases = List.of(
                List.of("\"initContainers\":[" + c("main", "0", "1", "") + "],\"containers\":[" + main + "]", "used twice"),
                List.of("\"initContainers\":[" + c("i", "0", "1", ",\"restartPolicy\":\"OnFailure\"") + "],\"containers\":[" + main + "]",
                        "may only be Always"),
                List.of("\"initContainers\":[" + c("i", "0", "1", ",\"readinessProbe\":{\"handler\":{\"tcpSocket\":80}}") + "],"
                        + "\"containers\":[" + main + "]", "only as a sidecar"),
                List.of("\"containers\":[" + c("main", "1", "1", ",\"restartPolicy\":\"Always\"") + "]", "only init containers"),
                List.of("\"containers\":[" + c("main", "1", "1", ",\"volumeMounts\":[{\"name\":\"cache\",\"mountPath\":\"/c\"}]") + "]",
                        "which the pod does not have"),
                List.of("\"volumes\":[{\"name\":\"v\"}],\"containers\":[" + c("main", "1", "1",
                        ",\"volumeMounts\":[{\"name\":\"v\",\"mountPath\":\"/proc/x\"}]") + "]", "cannot be mounted"),
                List.of("\"volumes\":[{\"name\":\"v\",\"medium\":\"HugePages\"}],\"containers\":[" + main + "]", "medium"),
                List.of("\"containers\":[" + c("main", "1", "1", ",\"securityContext\":{\"capabilitiesAdd\":[\"SYS_ADMIN\"]}") + "]",
                        "may not be added"),
                List.of("\"securityContext\":{\"runAsUser\":-1},\"containers\":[" + main + "]", "runAsUser"),
                List.of("\"containers\":[" + c("main", "1", "1", ",\"livenessProbe\":{\"handler\":{\"tcpSocket\":80},\"successThreshold\":2}") + "]",
                        "successThreshold must be 1"),
                List.of("\"containers\":[" + c("main", "1", "1", ",\"livenessProbe\":{\"handler\":{\"tcpSocket\":80,\"exec\":[\"true\"]}}") + "]",
                        "exactly one"),
                List.of("\"containers\":[" + c("main", "1", "1", ",\"readinessProbe\":{\"handler\":{\"httpGet\":{\"port\":80,"
                        + "\"headers\":[{\"name\":\"X\",\"value\":\"a\\r\\nb\"}]}}}") + "]", "line breaks"),
                // A probe never goes where the tenant points it: there is no host to set.
                List.of("\"containers\":[" + c("main", "1", "1", ",\"readinessProbe\":{\"handler\":{\"httpGet\":{\"port\":80,"
                        + "\"host\":\"169.254.169.254\"}}}") + "]", "Unrecognized field \"host\""),
                List.of("\"hostname\":\"Not_A_Label\",\"containers\":[" + main + "]", "hostname"),
                List.of("\"hostAliases\":[{\"ip\":\"10.0.0.1; rm\",\"hostnames\":[\"a\"]}],\"containers\":[" + main + "]", "IP address"),
                List.of("\"activeDeadlineSeconds\":0,\"containers\":[" + main + "]", "activeDeadlineSeconds"));
        for (List<String> k : cases) {
            assertThatThrownBy(() -> read(k.get(0))).as(k.get(1)).hasMessageContaining(k.get(1));
        }
    }

    @Test
    void aProbeGetsTheKubeletsDefaults() {
        Probe p = new Probe(new Probe.Handler(null, new Probe.HttpGet(null, 8080, null, null), null, null, null),
                null, null, null, null, null, null);
        assertThat(List.of(p.initialDelaySeconds(), p.periodSeconds(), p.timeoutSeconds(), p.successThreshold(), p.failureThreshold()))
                .containsExactly(0, 10, 1, 1, 3);
        assertThat(p.handler().httpGet().path()).isEqualTo("/");
        assertThat(p.handler().httpGet().scheme()).isEqualTo("HTTP");
        assertThatThrownBy(() -> new Probe.Lifecycle(new Probe.Handler(null, null, null, new Probe.Grpc(9, null), null), null))
                .isInstanceOf(Invalid.class);
    }
}
