package gpufleet.faults;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One of the project's images (dev/images.sh) run as a container on the host's network, the way a
 * provider runs it: read-only root, every capability dropped, no privilege gain, a memory limit.
 * Named gf-img-* and labelled, so dev/fresh-check.sh removes any a dead run leaves.
 */
final class ImageContainer implements AutoCloseable {
    /** The images' user (dev/images.sh). */
    static final int UID = 65532;
    final String name;
    final String image;

    private ImageContainer(String name, String image) {
        this.name = name;
        this.image = image;
    }

    /** Builds the program's image from its jar (a no-op when it already holds that jar) and returns its tag. */
    static String build(String program) {
        Commands.run("bash", "../dev/images.sh", "build", program);
        String tags = Commands.run("docker", "images", "--format", "{{.Repository}}:{{.Tag}}", "gpufleet/" + program);
        String version = Proc.jar(program).getFileName().toString().replace(program + "-", "").replace("-all.jar", "");
        String tag = "gpufleet/" + program + ":" + version;
        if (!tags.lines().toList().contains(tag)) {
            throw new IllegalStateException("dev/images.sh built no " + tag + " (images: " + tags.strip() + ")");
        }
        return tag;
    }

    static ImageContainer run(String image, String memory, Map<String, String> env, List<String> volumes) {
        String name = "gf-img-" + UUID.randomUUID().toString().substring(0, 8);
        List<String> cmd = new ArrayList<>(List.of("docker", "run", "-d", "--name", name, "--label", "org.gpufleet.test=images",
                "--network", "host", "--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
                "--memory", memory));
        env.forEach((k, v) -> cmd.addAll(List.of("-e", k + "=" + v)));
        volumes.forEach(v -> cmd.addAll(List.of("-v", v)));
        cmd.add(image);
        Commands.run(cmd.toArray(String[]::new));
        return new ImageContainer(name, image);
    }

    /** Docker's verdict from the image's HEALTHCHECK: starting, healthy or unhealthy. */
    String health() {
        return inspect("{{.State.Health.Status}}");
    }

    String inspect(String format) {
        return Commands.run("docker", "inspect", "--format", format, name).strip();
    }

    String exec(String... command) {
        List<String> cmd = new ArrayList<>(List.of("docker", "exec", name));
        cmd.addAll(List.of(command));
        return Commands.run(cmd.toArray(String[]::new)).strip();
    }

    String logs() {
        return Commands.run("docker", "logs", name);
    }

    /** The JVM's MaxHeapSize in bytes, from -XX:+PrintFlagsFinal's table in the container's output. */
    long maxHeapBytes() {
        Matcher m = Pattern.compile("size_t MaxHeapSize\\s+=\\s+(\\d+)").matcher(logs());
        if (!m.find()) {
            throw new IllegalStateException("no MaxHeapSize in the output of " + name + " (was -XX:+PrintFlagsFinal given?)");
        }
        return Long.parseLong(m.group(1));
    }

    @Override
    public void close() {
        Commands.lenient(List.of("docker", "rm", "-f", "-v", name));
    }
}
