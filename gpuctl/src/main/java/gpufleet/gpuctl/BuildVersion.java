package gpufleet.gpuctl;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import picocli.CommandLine.IVersionProvider;

/** gpuctl --version: the pom's version and the git commit the build came from (build.properties, filtered by Maven). */
public final class BuildVersion implements IVersionProvider {
    @Override
    public String[] getVersion() throws IOException {
        Properties p = new Properties();
        try (InputStream in = BuildVersion.class.getResourceAsStream("build.properties")) {
            if (in != null) {
                p.load(in);
            }
        }
        String revision = p.getProperty("revision", "").strip();
        return new String[] {"gpuctl " + p.getProperty("version", "dev") + " (revision "
                + (revision.isEmpty() || revision.startsWith("${") ? "unknown" : revision) + ")"};
    }
}
