using Concerto.Ingest.Core.Datasets.Filter;
using Concerto.Ingest.Core.Media;
using Concerto.Ingest.Core.Profiles;
using Microsoft.Extensions.Logging;
using Npgsql;
using Spectre.Console;

namespace Concerto.Ingest.Cli;

/// <summary>Runs a command body, turning the errors a user can fix into one clear line and exit code 1.</summary>
public static class CliRun
{
    public static async Task<int> GuardAsync(Func<Task<int>> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            CliOutput.Error.MarkupLine("[yellow]Cancelled.[/]");
            return 130;
        }
        catch (FilterException e)
        {
            // Not through Spectre: its line wrapping would move the caret away from the text it points at.
            await System.Console.Error.WriteLineAsync("error: " + e.Message).ConfigureAwait(false);
            return 1;
        }
        catch (Exception e) when (e is ProfileException or Jobs.Hosting.InvalidSettingsException or BadInputException or ArgumentException or IOException or InvalidOperationException or NpgsqlException
                                       or KeyNotFoundException or InvalidDataException
                                       or Train.Data.BackgroundLoaderException { InnerException: IOException or InvalidDataException })
        {
            CliOutput.Error.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
            return 1;
        }
    }

    /// <summary>Console logging for hosts, on stderr (stdout is for results and data); warnings and errors only unless
    /// verbose, so progress displays stay readable.</summary>
    public static void ConfigureLogging(ILoggingBuilder logging, bool verbose)
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

    public static ILoggerFactory CreateLoggers(bool verbose) => LoggerFactory.Create(b => ConfigureLogging(b, verbose));

    /// <summary>Loggers at the command line's -v.</summary>
    public static ILoggerFactory CreateLoggers() => CreateLoggers(CliOutput.IsVerbose);
}
