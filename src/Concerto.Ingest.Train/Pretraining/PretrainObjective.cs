using Concerto.Ingest.Train.CrossModal;
using Concerto.Ingest.Train.Model;
using Concerto.Ingest.Train.Profiles;
using Concerto.Ingest.Train.Sonata;
using TorchSharp;
using static TorchSharp.torch;

namespace Concerto.Ingest.Train.Pretraining;

/// <summary>The loss of one micro-step and its parts (for metrics).</summary>
public sealed record StepLoss(Tensor Total, IReadOnlyDictionary<string, double> Parts);

/// <summary>Concerto's pretraining loss (spec sections 2 and 3). The teacher encodes the unmasked global views; the
/// student the masked globals and the locals. At the heads' level, student points are matched to teacher points by
/// 1-NN on original coordinates (kept under the match distance) in three pairings: mask (a masked view against the same
/// teacher view), roll (against the other global view) and unmask (each local view against the first global view),
/// each scored against Sinkhorn-Knopp targets of the teacher's logits. With images, the student's masked major view
/// (global view 0) predicts the image teacher's patch features from its up-cast stage-1 points.</summary>
public static class PretrainObjective
{
    public static StepLoss Compute(ConcertoModel model, PretrainBatch batch, double teacherTemperature, Random random, Device device)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(batch);
        var profile = model.Profile;
        var sonata = profile.Sonata;
        var level = SonataNetwork.HeadLevel(model.Profile.Encoder, sonata);
        var weights = profile.Concerto.WeightsFor(crossModal: model.Predictor is not null);
        var parts = new Dictionary<string, double>();

        // Parts with zero weight are not computed (a profile may switch any of them off).
        var pairs = weights.Mask > 0 || weights.Roll > 0;
        var unmasked = weights.Unmask > 0 && batch.Local is not null && batch.LocalViewsPerSample > 0;
        Tensor? maskTargets = null, unmaskTargets = null;
        PointLevel? teacherLevel = null;
        if (pairs || unmasked)
        {
            using var noGrad = no_grad();
            var teacherLevels = model.Teacher.Encoder.forward(batch.Global.ToInput(device), random);
            var teacherFeatures = PointTransformerV3.UpCast(teacherLevels, level, sonata.UpCastLevels);
            if (pairs) maskTargets = SinkhornKnopp.Targets(model.Teacher.MaskHead.forward(teacherFeatures), teacherTemperature);
            if (unmasked) unmaskTargets = SinkhornKnopp.Targets(model.Teacher.UnmaskHead.forward(teacherFeatures), teacherTemperature);
            teacherLevel = teacherLevels[level];
        }

        var studentLevels = model.Student.Encoder.forward(batch.MaskedGlobal.ToInput(device), random);
        var selfDistillation = new List<Tensor>();
        Tensor? total = null;
        if (pairs)
        {
            var studentGlobal = studentLevels[level];
            var maskLogits = model.Student.MaskHead.forward(PointTransformerV3.UpCast(studentLevels, level, sonata.UpCastLevels));
            // Global view v of sample b is view 2b + v in both the teacher's and the student's batch.
            var mask = PairLoss(maskLogits, studentGlobal, maskTargets!, teacherLevel!, batch.Samples, 2, (b, v) => 2 * b + v, sonata);
            var roll = PairLoss(maskLogits, studentGlobal, maskTargets!, teacherLevel!, batch.Samples, 2, (b, v) => 2 * b + 1 - v, sonata);
            total = weights.Mask * mask + weights.Roll * roll;
            selfDistillation.AddRange([mask, roll]);
            parts["mask"] = mask.item<float>();
            parts["roll"] = roll.item<float>();
        }

        if (unmasked)
        {
            var localLevels = model.Student.Encoder.forward(batch.Local!.ToInput(device), random);
            var unmaskLogits = model.Student.UnmaskHead.forward(PointTransformerV3.UpCast(localLevels, level, sonata.UpCastLevels));
            var unmask = PairLoss(unmaskLogits, localLevels[level], unmaskTargets!, teacherLevel!, batch.Samples, batch.LocalViewsPerSample,
                (b, _) => 2 * b, sonata);
            total = Add(total, weights.Unmask * unmask);
            selfDistillation.Add(unmask);
            parts["unmask"] = unmask.item<float>();
        }

        if (model.Predictor is { } predictor && weights.CrossModal > 0)
        {
            Tensor crossModal;
            if (batch.Hits.Count > 0)
            {
                var (point, slot) = PatchSlots.OfParents(batch.Hits, studentLevels[0].PoolingInverse!.cpu().data<long>().ToArray());
                var features = PointTransformerV3.UpCast(studentLevels, 1, profile.Concerto.UpCastLevels);
                var teacher = tensor(batch.TeacherFeatures, device: device).view(-1, batch.FeatureWidth);
                crossModal = predictor.forward(features, point, slot, teacher);
                parts["cross_modal"] = crossModal.item<float>();
            }
            else
            {
                // A batch without images stands in the mean self-distillation loss (spec section 3); with no
                // self-distillation either, a zero that keeps the graph.
                crossModal = selfDistillation.Count > 0 ? stack(selfDistillation).mean() : studentLevels[^1].Feat.sum() * 0;
            }

            total = Add(total, weights.CrossModal * crossModal);
        }

        total ??= studentLevels[^1].Feat.sum() * 0; // every weight zero: nothing to learn, but a loss to step on
        parts["loss"] = total.item<float>();
        return new StepLoss(total, parts);
    }

    /// <summary>Matches every student view to its teacher view within each sample and scores the pairs: per view pair,
    /// -sum q log softmax(s / tau_s), averaged per sample then over samples.</summary>
    private static Tensor PairLoss(Tensor studentLogits, PointLevel student, Tensor targets, PointLevel teacher, int samples, int viewsPerSample,
        Func<int, int, int> teacherViewOf, SonataSettings sonata)
    {
        var studentIndex = new List<Tensor>();
        var teacherIndex = new List<Tensor>();
        var sampleOfPair = new List<Tensor>();
        for (var b = 0; b < samples; b++)
        for (var v = 0; v < viewsPerSample; v++)
        {
            var s = viewsPerSample * b + v;
            var t = teacherViewOf(b, v);
            var (sStart, sEnd) = Range(student, s);
            var (tStart, tEnd) = Range(teacher, t);
            var (q, r) = NearestNeighbourMatch.Match(student.Origin.narrow(0, sStart, sEnd - sStart), [sEnd - sStart],
                teacher.Origin.narrow(0, tStart, tEnd - tStart), [tEnd - tStart],
                sonata.MatchDistance);
            studentIndex.Add(q + sStart);
            teacherIndex.Add(r + tStart);
            sampleOfPair.Add(full(q.shape[0], (long)b, device: q.device));
        }

        return SonataLoss.PairLoss(studentLogits.index_select(0, cat(studentIndex)), targets.index_select(0, cat(teacherIndex)),
            cat(sampleOfPair), samples, sonata.StudentTemperature);
    }

    private static Tensor Add(Tensor? sum, Tensor term) => sum is null ? term : sum + term;

    private static (long Start, long End) Range(PointLevel level, int view) => (view == 0 ? 0 : level.Offsets[view - 1], level.Offsets[view]);
}
