package gpufleet.gpuctl;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** gpuctl --version names the pom's version and the commit this checkout is at. */
class VersionTest {
    @Test
    void versionIsThePomsAndTheRevisionIsTheCheckoutsCommit() throws Exception {
        StringWriter out = new StringWriter();
        int code = new CommandLine(new Gpuctl(Map.of(), Clock.systemUTC())).setOut(new PrintWriter(out)).execute("--version");
        assertThat(code).isZero();
        Matcher pom = Pattern.compile("<artifactId>gpufleet</artifactId>\\s*<version>([^<]+)</version>")
                .matcher(Files.readString(Path.of("../pom.xml")));
        assertThat(pom.find()).isTrue();
        Process git = new ProcessBuilder("git", "rev-parse", "HEAD").start();
        String head = new String(git.getInputStream().readAllBytes()).strip();
        assertThat(git.waitFor()).isZero();
        assertThat(out.toString().strip()).isEqualTo("gpuctl " + pom.group(1) + " (revision " + head + ")");
    }
}
