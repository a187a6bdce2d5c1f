package gpufleet.host.images;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.BuildImageResultCallback;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.zerodep.ZerodepDockerHttpClient;
import gpufleet.host.docker.DockerRuntime;
import gpufleet.host.images.DiskUsage.Usage;
import gpufleet.host.images.ImageStore.Image;
import gpufleet.host.runtime.RuntimeFailure;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Image garbage collection against the real Docker Engine, with images this test builds (tagged
 * gpufleet/s11dash-gc:…, FROM gpufleet/busybox:test with a layer of its own) and containers it
 * makes without the agent's labels, as anyone's would be. The engine's other images are hidden
 * from the collector ({@link OnlyOurs}); the disk's usage and the clock are set by the test, the
 * thresholds, ages and order are the collector's own.
 */
class ImageGcIT {
    static final String REPO = "gpufleet/s11dash-gc";
    static final String DOCKER = "unix:///var/run/docker.sock";
    static DockerClient docker;
    static DockerRuntime runtime;
    static final List<String> containers = new ArrayList<>();

    @BeforeAll
    static void engine() {
        var cfg = DefaultDockerClientConfig.createDefaultConfigBuilder().withDockerHost(DOCKER).build();
        docker = DockerClientImpl.getInstance(cfg, new ZerodepDockerHttpClient.Builder().dockerHost(cfg.getDockerHost()).build());
        docker.pingCmd().exec();
        runtime = new DockerRuntime(DOCKER, "runc");
        cleanUp();
    }

    @AfterAll
    static void cleanUp() {
        containers.forEach(id -> {
            try {
                docker.removeContainerCmd(id).withForce(true).exec();
            } catch (NotFoundException gone) {
                // removed already
            }
        });
        containers.clear();
        docker.listImagesCmd().exec().stream()
                .filter(i -> i.getRepoTags() != null && List.of(i.getRepoTags()).stream().anyMatch(t -> t.startsWith(REPO + ":")))
                .forEach(i -> docker.removeImageCmd(i.getId()).withForce(true).exec());
    }

    @Test
    void unusedImagesGoLeastRecentlyUsedFirstAndImagesInUseOrTooYoungStay(@TempDir Path state) throws Exception {
        for (String tag : List.of("a", "b", "c", "stopped", "running", "pinned")) {
            build(tag);
        }
        docker.tagImageCmd(REPO + ":stopped", REPO, "stopped-too").exec();
        stopped("stopped");
        running("running");
        TestClock clock = new TestClock(Instant.parse("2026-12-07T12:00:00Z"));
        Usage[] usage = {new Usage(1_000, 500)};
        ImageRecords records = new ImageRecords(state.resolve("image-usage.json"));
        ImageGcPolicy policy = new ImageGcPolicy(85, 80, Duration.ofMinutes(2), Duration.ofMinutes(5));
        ImageGc gc = new ImageGc(new OnlyOurs(runtime), dir -> usage[0], policy, Set.of(REPO + ":pinned"), records, clock);

        assertThat(gc.collect().removed()).as("50% used").isEmpty();
        clock.advance(Duration.ofMinutes(1));
        String usedB = stopped("b");
        assertThat(gc.collect().removed()).isEmpty();
        docker.removeContainerCmd(usedB).exec();
        clock.advance(Duration.ofMinutes(1));
        String usedC = stopped("c");
        assertThat(gc.collect().removed()).isEmpty();
        docker.removeContainerCmd(usedC).exec();
        build("young");
        clock.advance(Duration.ofMinutes(8));

        // 90% used: to get below 80%, 1.5 images' worth must go, so two do, the least recently used.
        long size = size("a");
        usage[0] = new Usage(size * 15, size * 3 / 2);
        ImageGc.Result first = gc.collect();
        assertThat(tags(first.removed())).containsExactly(REPO + ":a", REPO + ":b");
        assertThat(first.failure()).isNull();
        assertThat(present()).containsExactlyInAnyOrder("c", "stopped", "stopped-too", "running", "young", "pinned");

        clock.advance(Duration.ofMinutes(1));
        usage[0] = new Usage(size * 100, size);
        ImageGc.Result second = gc.collect();
        assertThat(tags(second.removed())).as("young was first seen a minute ago").containsExactly(REPO + ":c");
        assertThat(second.failure()).startsWith("Failed to garbage collect required amount of images. Attempted to free ");
        assertThat(present()).as("in use by a stopped and a running container (not the agent's), young, pinned")
                .containsExactlyInAnyOrder("stopped", "stopped-too", "running", "young", "pinned");

        ImageRecords restarted = new ImageRecords(state.resolve("image-usage.json"));
        assertThat(restarted.get(id("young")).firstSeen()).as("kept across a restart").isEqualTo(clock.instant().minus(Duration.ofMinutes(1)));
    }

    private static void build(String tag) throws IOException {
        Path dir = Files.createTempDirectory("s11dash-gc");
        byte[] blob = new byte[1 << 20];
        new Random().nextBytes(blob);
        Files.write(dir.resolve("blob"), blob);
        Files.writeString(dir.resolve("Dockerfile"), "FROM gpufleet/busybox:test\nCOPY blob /blob\n");
        docker.buildImageCmd(dir.toFile()).withTags(Set.of(REPO + ":" + tag)).exec(new BuildImageResultCallback()).awaitImageId();
    }

    /** A container made from the image and never started: it holds the image as a running one does. */
    private static String stopped(String tag) {
        String id = docker.createContainerCmd(REPO + ":" + tag).withCmd("true").exec().getId();
        containers.add(id);
        return id;
    }

    private static void running(String tag) {
        String id = docker.createContainerCmd(REPO + ":" + tag).withCmd("sleep", "600").exec().getId();
        containers.add(id);
        docker.startContainerCmd(id).exec();
    }

    private static String id(String tag) {
        return docker.inspectImageCmd(REPO + ":" + tag).exec().getId();
    }

    private static long size(String tag) {
        return docker.inspectImageCmd(REPO + ":" + tag).exec().getSize();
    }

    private static List<String> tags(List<Image> images) {
        return images.stream().flatMap(i -> i.tags().stream()).toList();
    }

    private static List<String> present() throws RuntimeFailure {
        return new OnlyOurs(runtime).images().stream().flatMap(i -> i.tags().stream()).map(t -> t.substring(REPO.length() + 1)).toList();
    }

    /** The engine's images as the collector sees them, but only this test's: the machine's others are not its to remove. */
    record OnlyOurs(DockerRuntime engine) implements ImageStore {
        @Override
        public String imageRoot() throws RuntimeFailure {
            return engine.imageRoot();
        }

        @Override
        public List<Image> images() throws RuntimeFailure {
            return engine.images().stream().filter(i -> i.tags().stream().anyMatch(t -> t.startsWith(REPO + ":"))).toList();
        }

        @Override
        public Set<String> imagesInUse() throws RuntimeFailure {
            return engine.imagesInUse();
        }

        @Override
        public void remove(Image image) throws RuntimeFailure {
            engine.remove(image);
        }
    }

    static final class TestClock extends Clock {
        private Instant now;

        TestClock(Instant now) {
            this.now = now;
        }

        void advance(Duration d) {
            now = now.plus(d);
        }

        @Override
        public Instant instant() {
            return now;
        }

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }
    }
}
