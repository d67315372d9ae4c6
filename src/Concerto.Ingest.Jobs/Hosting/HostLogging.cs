using Microsoft.Extensions.Logging;

namespace Concerto.Ingest.Jobs.Hosting;

/// <summary>Console logging for hosts, on stderr (stdout is for results and data); warnings and errors only unless
/// verbose, so progress displays stay readable.</summary>
public static class HostLogging
{
    public static void Configure(ILoggingBuilder logging, bool verbose)
    {
        ArgumentNullException.ThrowIfNull(logging);
        logging.ClearProviders();
        logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        });
        logging.SetMinimumLevel(verbose ? LogLevel.Information : LogLevel.Warning);
        logging.AddFilter("Hangfire", verbose ? LogLevel.Information : LogLevel.Error);
        // Hangfire logs a job failure that it will retry as a warning; our stages already record those.
        logging.AddFilter("Hangfire.AutomaticRetryAttribute", LogLevel.Error);
    }
}
