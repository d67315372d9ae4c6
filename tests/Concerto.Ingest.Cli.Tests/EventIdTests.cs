using System.Reflection;
using Microsoft.Extensions.Logging;

namespace Concerto.Ingest.Cli.Tests;

/// <summary>Every generated log message of the shipped assemblies has its own event id, so a log search by id finds one
/// message (ids are grouped by area: 1xxx storage, 2xxx the stages, 4xxx the models).</summary>
public sealed class EventIdTests
{
    [Fact]
    public void LoggerMessages_HaveDistinctNonZeroEventIds()
    {
        var assemblies = Directory.GetFiles(AppContext.BaseDirectory, "Concerto.Ingest.*.dll")
            .Where(f => !Path.GetFileName(f).Contains(".Tests", StringComparison.Ordinal) && !Path.GetFileName(f).Contains("TestSupport", StringComparison.Ordinal))
            .Select(Assembly.LoadFrom)
            .Append(Assembly.LoadFrom(Path.Combine(AppContext.BaseDirectory, "concerto.dll")))
            .ToList();
        Assert.Contains(assemblies, a => a.GetName().Name == "Concerto.Ingest.Jobs");
        var messages = assemblies
            .SelectMany(a => a.GetTypes())
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            .Select(m => (Method: m, Attribute: m.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(x => x.Attribute is not null)
            .Select(x => (Id: x.Attribute!.EventId, Name: $"{x.Method.DeclaringType!.FullName}.{x.Method.Name}"))
            .ToList();
        Assert.True(messages.Count > 20, $"only {messages.Count} generated log messages found");
        Assert.DoesNotContain(messages, m => m.Id == 0);
        var shared = messages.GroupBy(m => m.Id).Where(g => g.Count() > 1).Select(g => $"{g.Key}: {string.Join(", ", g.Select(m => m.Name))}").ToList();
        Assert.True(shared.Count == 0, "event ids used more than once:\n" + string.Join("\n", shared));
    }
}
