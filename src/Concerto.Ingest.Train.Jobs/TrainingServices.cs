using Microsoft.Extensions.DependencyInjection;

namespace Concerto.Ingest.Train.Jobs;

public static class TrainingServices
{
    /// <summary>The training service and the train queue's job, on a container that already has the pipeline's
    /// catalogue and storage (<c>AddConcertoPipeline</c>).</summary>
    public static IServiceCollection AddConcertoTraining(this IServiceCollection services)
    {
        services.AddSingleton<TrainingService>();
        services.AddTransient<TrainJob>();
        return services;
    }
}
