package gpufleet.common;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.filter.Filter;
import ch.qos.logback.core.spi.FilterReply;

/**
 * Lets an appender write only when its {@code format} is the {@code active} one
 * (GPUFLEET_LOG_FORMAT, substituted by logback.xml). Each program's logback.xml attaches both its
 * text and its json appender to the root, each behind this filter: an appender left unattached
 * makes logback warn and print its whole start-up status on every start.
 */
public final class LogFormatFilter extends Filter<ILoggingEvent> {
    private String format;
    private String active;
    private boolean enabled;

    /** Decided as the properties are set: logback does not start a filter it configures. */
    public void setFormat(String format) {
        this.format = format;
        enabled = format != null && format.equals(active);
    }

    public void setActive(String active) {
        this.active = active;
        enabled = format != null && format.equals(active);
    }

    @Override
    public FilterReply decide(ILoggingEvent event) {
        return enabled ? FilterReply.NEUTRAL : FilterReply.DENY;
    }
}
