package gpufleet.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

class LogSettingsTest {
    @Test
    void levelsForTheRootAndSingleLoggersComeFromTheEnvironment() {
        Map<String, Level> levels = LogSettings.parse(Map.of("GPUFLEET_LOG_LEVEL", "WARN",
                "GPUFLEET_LOG_LEVELS", "gpufleet.access=debug, org.eclipse.jetty = info", "GPUFLEET_LOG_FORMAT", "json"));
        assertThat(levels).containsEntry("", Level.WARN).containsEntry("gpufleet.access", Level.DEBUG)
                .containsEntry("org.eclipse.jetty", Level.INFO).hasSize(3);
        assertThat(LogSettings.parse(Map.of())).isEmpty();
    }

    @Test
    void applySetsTheLoggersLevels() {
        LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
        Logger logger = context.getLogger("gpufleet.test.levels");
        LogSettings.apply(Map.of("GPUFLEET_LOG_LEVELS", "gpufleet.test.levels=error"));
        assertThat(logger.getLevel()).isEqualTo(Level.ERROR);
        logger.setLevel(null);
    }

    @Test
    void aWordThatIsNoLevelIsRefusedNotReadAsDebug() {
        assertThatThrownBy(() -> LogSettings.parse(Map.of("GPUFLEET_LOG_LEVEL", "verbose")))
                .hasMessageContaining("GPUFLEET_LOG_LEVEL: 'verbose' is not a level (trace, debug, info, warn, error, off)");
    }

    @Test
    void everyMalformedSettingIsNamedAndNothingIsApplied() {
        LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
        Logger logger = context.getLogger("gpufleet.test.untouched");
        Map<String, String> env = Map.of("GPUFLEET_LOG_LEVELS", "gpufleet.test.untouched=error,gpufleet.access,bad name=info,x=loud",
                "GPUFLEET_LOG_FORMAT", "xml\nforged");
        assertThatThrownBy(() -> LogSettings.apply(env))
                .hasMessageContaining("'gpufleet.access' must be logger=level")
                .hasMessageContaining("'bad name=info' must be logger=level")
                .hasMessageContaining("GPUFLEET_LOG_LEVELS (x): 'loud' is not a level")
                .hasMessageContaining("GPUFLEET_LOG_FORMAT: 'xml?forged' must be text or json");
        assertThat(logger.getLevel()).as("a valid entry beside bad ones is not applied either").isNull();
    }
}
