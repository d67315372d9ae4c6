using Concerto.Ingest.Train.Model;
using Concerto.Ingest.Train.Profiles;
using Concerto.Ingest.Train.Sonata;
using TorchSharp;
using static TorchSharp.torch;

namespace Concerto.Ingest.Train.Pretraining;

/// <summary>The loss of one micro-step and its parts (for metrics).</summary>
public sealed record StepLoss(Tensor Total, IReadOnlyDictionary<string, double> Parts);

/// <summary>One self-distillation pairing in one micro-batch: each matched student point (an index into the student's
/// head-level points), the student view it belongs to (of <paramref name="Views"/>), and its Sinkhorn-Knopp target.</summary>
public sealed record PairTargets(Tensor StudentIndex, Tensor View, Tensor Targets, int Views);

/// <summary>The teacher's side of one micro-batch's self-distillation; a pairing whose weight is zero is null.</summary>
public sealed record TeacherTargets(PairTargets? Mask, PairTargets? Roll, PairTargets? Unmask);

/// <summary>Concerto's pretraining loss (spec sections 2 and 3), in two passes as the official trainer computes it.
/// <see cref="Teach"/>: the teacher encodes the unmasked global views of every micro-batch of an optimizer step; its
/// head-level points are matched by 1-NN on original coordinates (kept under the match distance) to the head-level
/// points the student will have, in three pairings: mask (a masked view against the same teacher view), roll (against
/// the other global view) and unmask (each local view against the first global view); each pairing's matched teacher
/// logits, duplicates included, get their own Sinkhorn-Knopp over the whole effective batch. <see cref="Compute"/>:
/// the student encodes the masked globals and the locals and is scored against those targets, per view; with images,
/// the student's masked major view (global view 0) predicts the image teacher's patch features from its up-cast
/// stage-1 points.</summary>
public static class PretrainObjective
{
    /// <summary>The teacher pass of one optimizer step over its micro-batches (no gradients). The targets live in the
    /// caller's dispose scope until the student passes have used them.</summary>
    public static IReadOnlyList<TeacherTargets> Teach(ConcertoModel model, IReadOnlyList<PretrainBatch> batches, double teacherTemperature,
        Func<int, Random> random, Device device)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(batches);
        ArgumentNullException.ThrowIfNull(random);
        var sonata = model.Profile.Sonata;
        var level = SonataNetwork.HeadLevel(model.Profile.Encoder, sonata);
        var weights = model.Profile.Concerto.WeightsFor(crossModal: model.Predictor is not null);
        var matched = new List<Matches>?[3];
        for (var i = 0; i < batches.Count; i++)
        {
            var batch = batches[i];
            var (mask, roll, unmask) = (weights.Mask > 0, weights.Roll > 0, weights.Unmask > 0 && batch.Local is not null && batch.LocalViewsPerSample > 0);
            if (!mask && !roll && !unmask) continue;
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var teacherLevels = model.Teacher.Encoder.forward(batch.Global.ToInput(device), random(i));
            var features = PointTransformerV3.UpCast(teacherLevels, level, sonata.UpCastLevels);
            var teacher = teacherLevels[level];
            var globalLogits = mask || roll ? TeacherHead(model, unmaskPairing: false).forward(features) : null;
            if (mask || roll)
            {
                var (origin, offsets) = StudentOrigins(batch.MaskedGlobal, level, device);
                // Global view v of sample b is view 2b + v in both the teacher's and the student's batch.
                if (mask) Add(0, Pairs(origin, offsets, teacher, v => v, sonata.MatchDistance, globalLogits!));
                if (roll) Add(1, Pairs(origin, offsets, teacher, v => v ^ 1, sonata.MatchDistance, globalLogits!));
            }

            if (unmask)
            {
                var head = TeacherHead(model, unmaskPairing: true);
                var logits = globalLogits is not null && head == TeacherHead(model, unmaskPairing: false) ? globalLogits : head.forward(features);
                var (origin, offsets) = StudentOrigins(batch.Local!, level, device);
                var perSample = batch.LocalViewsPerSample;
                Add(2, Pairs(origin, offsets, teacher, v => 2 * (v / perSample), sonata.MatchDistance, logits));
            }

            void Add(int pairing, Matches m)
            {
                matched[pairing] ??= Enumerable.Repeat<Matches>(null!, batches.Count).ToList();
                matched[pairing]![i] = m with
                {
                    Student = m.Student.MoveToOuterDisposeScope(), View = m.View.MoveToOuterDisposeScope(), Logits = m.Logits.MoveToOuterDisposeScope(),
                };
            }
        }

        var targets = matched.Select(m => m is null ? null : SinkhornPerBatch(m, teacherTemperature, sonata.SinkhornPerMicroBatch)).ToArray();
        return Enumerable.Range(0, batches.Count).Select(i => new TeacherTargets(targets[0]?[i], targets[1]?[i], targets[2]?[i])).ToArray();
    }

    /// <summary>The student pass of one micro-batch against its teacher targets.</summary>
    public static StepLoss Compute(ConcertoModel model, PretrainBatch batch, TeacherTargets targets, Random random, Device device)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(targets);
        var profile = model.Profile;
        var sonata = profile.Sonata;
        var level = SonataNetwork.HeadLevel(profile.Encoder, sonata);
        var weights = profile.Concerto.WeightsFor(crossModal: model.Predictor is not null);
        var parts = new Dictionary<string, double>();
        var selfDistillation = new Dictionary<string, Tensor>();

        var studentLevels = model.Student.Encoder.forward(batch.MaskedGlobal.ToInput(device), random);
        if (targets.Mask is not null || targets.Roll is not null)
        {
            var maskLogits = model.Student.MaskHead.forward(PointTransformerV3.UpCast(studentLevels, level, sonata.UpCastLevels));
            if (targets.Mask is { } mask) selfDistillation["mask"] = Score(maskLogits, mask, sonata);
            if (targets.Roll is { } roll) selfDistillation["roll"] = Score(maskLogits, roll, sonata);
        }

        if (targets.Unmask is { } unmask)
        {
            var localLevels = model.Student.Encoder.forward(batch.Local!.ToInput(device), random);
            var unmaskLogits = model.Student.UnmaskHead.forward(PointTransformerV3.UpCast(localLevels, level, sonata.UpCastLevels));
            selfDistillation["unmask"] = Score(unmaskLogits, unmask, sonata);
        }

        Tensor? total = null;
        foreach (var (name, loss) in selfDistillation)
        {
            total = Add(total, WeightOf(weights, name) * loss);
            parts[name] = loss.item<float>();
        }

        if (model.Predictor is { } predictor && weights.CrossModal > 0)
        {
            Tensor crossModal;
            if (batch.Hits.Count > 0)
            {
                var (point, slot) = CrossModal.PatchSlots.OfParents(batch.Hits, studentLevels[0].PoolingInverse!.cpu().data<long>().ToArray(), batch.Grid);
                var features = PointTransformerV3.UpCast(studentLevels, 1, profile.Concerto.UpCastLevels);
                var teacher = tensor(batch.TeacherFeatures, device: device).view(-1, batch.FeatureWidth);
                crossModal = predictor.forward(features, point, slot, teacher);
                parts["cross_modal"] = crossModal.item<float>();
            }
            else
            {
                // A batch without images stands in the weighted mean of the self-distillation losses (spec section 3);
                // with no self-distillation either, a zero that keeps the graph.
                crossModal = SelfDistillationMean(weights, selfDistillation) ?? studentLevels[^1].Feat.sum() * 0;
            }

            total = Add(total, weights.CrossModal * crossModal);
        }

        total ??= studentLevels[^1].Feat.sum() * 0; // every weight zero: nothing to learn, but a loss to step on
        parts["loss"] = total.item<float>();
        return new StepLoss(total, parts);
    }

    /// <summary>The teacher head whose logits give a pairing's targets. Sonata: the mask head for mask and roll, the
    /// unmask head for unmask. Concerto ("only use one shared head"): the mask head for all three while mask or roll is
    /// on, else the unmask head.</summary>
    public static OnlineClusterHead TeacherHead(ConcertoModel model, bool unmaskPairing)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!unmaskPairing) return model.Teacher.MaskHead;
        var weights = model.Profile.Concerto.WeightsFor(crossModal: model.Predictor is not null);
        return model.Predictor is not null && (weights.Mask > 0 || weights.Roll > 0) ? model.Teacher.MaskHead : model.Teacher.UnmaskHead;
    }

    /// <summary>What a batch without images stands in for the cross-modal loss: the self-distillation losses computed,
    /// weighted by their weights and divided by the weights' sum (Concerto: mask 0.25, roll 0.25, unmask 0.5); null when
    /// none was computed.</summary>
    public static Tensor? SelfDistillationMean(LossWeights weights, IReadOnlyDictionary<string, Tensor> losses)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(losses);
        Tensor? sum = null;
        double weightSum = 0;
        foreach (var (name, loss) in losses)
        {
            var w = WeightOf(weights, name);
            sum = Add(sum, w * loss);
            weightSum += w;
        }

        return sum is null || weightSum <= 0 ? null : sum / weightSum;
    }

    /// <summary>Matched pairs of one pairing: every student view v (of <paramref name="studentOffsets"/>) against teacher
    /// view <paramref name="teacherViewOf"/>(v), by 1-NN on original coordinates under <paramref name="maxDistance"/>.
    /// Returns the student point, the teacher point and the student view of each pair, in student order.</summary>
    public static (Tensor Student, Tensor Teacher, Tensor View) Match(Tensor studentOrigin, long[] studentOffsets, Tensor teacherOrigin,
        long[] teacherOffsets, Func<int, int> teacherViewOf, double maxDistance)
    {
        ArgumentNullException.ThrowIfNull(studentOrigin);
        ArgumentNullException.ThrowIfNull(studentOffsets);
        ArgumentNullException.ThrowIfNull(teacherOrigin);
        ArgumentNullException.ThrowIfNull(teacherOffsets);
        ArgumentNullException.ThrowIfNull(teacherViewOf);
        using var scope = NewDisposeScope();
        var student = new List<Tensor>();
        var teacher = new List<Tensor>();
        var view = new List<Tensor>();
        for (var v = 0; v < studentOffsets.Length; v++)
        {
            var t = teacherViewOf(v);
            var (sStart, sEnd) = Range(studentOffsets, v);
            var (tStart, tEnd) = Range(teacherOffsets, t);
            var (q, r) = NearestNeighbourMatch.Match(studentOrigin.narrow(0, sStart, sEnd - sStart), [sEnd - sStart],
                teacherOrigin.narrow(0, tStart, tEnd - tStart), [tEnd - tStart], maxDistance);
            student.Add(q + sStart);
            teacher.Add(r + tStart);
            view.Add(full(q.shape[0], (long)v, device: q.device));
        }

        return (cat(student).MoveToOuterDisposeScope(), cat(teacher).MoveToOuterDisposeScope(), cat(view).MoveToOuterDisposeScope());
    }

    /// <summary>Sinkhorn-Knopp over one pairing's matched teacher logits of every micro-batch together (the official
    /// run normalises over the whole batch), split back per micro-batch; a teacher point matched twice counts twice.</summary>
    public static IReadOnlyList<Tensor> SinkhornOverBatches(IReadOnlyList<Tensor> matchedLogits, double teacherTemperature)
    {
        ArgumentNullException.ThrowIfNull(matchedLogits);
        var sizes = matchedLogits.Select(l => l.shape[0]).ToArray();
        var all = SinkhornKnopp.Targets(matchedLogits.Count == 1 ? matchedLogits[0] : cat(matchedLogits.ToArray(), 0), teacherTemperature);
        return matchedLogits.Count == 1 ? [all] : all.split(sizes, 0);
    }

    /// <summary>Head-level origins of the student's views, from their positions and grid alone (no features).</summary>
    private static (Tensor Origin, long[] Offsets) StudentOrigins(ViewBatch views, int level, Device device) =>
        PointTransformerV3.OriginsAt(tensor(views.Origin, device: device).view(-1, 3), views.Grid, views.Batch, level);

    private sealed record Matches(Tensor Student, Tensor View, Tensor Logits, int Views);

    private static Matches Pairs(Tensor studentOrigin, long[] studentOffsets, PointLevel teacher, Func<int, int> teacherViewOf, double maxDistance,
        Tensor teacherLogits)
    {
        var (student, teacherIndex, view) = Match(studentOrigin, studentOffsets, teacher.Origin, teacher.Offsets, teacherViewOf, maxDistance);
        return new Matches(student, view, teacherLogits.index_select(0, teacherIndex), studentOffsets.Length);
    }

    private static PairTargets?[] SinkhornPerBatch(List<Matches> matches, double teacherTemperature, bool perMicroBatch)
    {
        var present = matches.Where(m => m is not null).ToList();
        var targets = perMicroBatch
            ? present.Select(m => SinkhornKnopp.Targets(m.Logits, teacherTemperature)).ToList()
            : SinkhornOverBatches(present.Select(m => m.Logits).ToList(), teacherTemperature);
        var result = new PairTargets?[matches.Count];
        for (int i = 0, j = 0; i < matches.Count; i++)
            if (matches[i] is { } m) result[i] = new PairTargets(m.Student, m.View, targets[j++], m.Views);
        return result;
    }

    /// <summary>-sum q log softmax(s / tau_s) per matched point, averaged per student view, then over the views
    /// (Pointcept's segment reduction over each pair's view).</summary>
    private static Tensor Score(Tensor studentLogits, PairTargets pair, SonataSettings sonata) =>
        SonataLoss.PairLoss(studentLogits.index_select(0, pair.StudentIndex), pair.Targets, pair.View, pair.Views, sonata.StudentTemperature);

    private static double WeightOf(LossWeights weights, string part) => part switch
    {
        "mask" => weights.Mask,
        "roll" => weights.Roll,
        "unmask" => weights.Unmask,
        _ => throw new ArgumentOutOfRangeException(nameof(part), part, "not a self-distillation part"),
    };

    private static Tensor Add(Tensor? sum, Tensor term) => sum is null ? term : sum + term;

    private static (long Start, long End) Range(long[] offsets, int view) => (view == 0 ? 0 : offsets[view - 1], offsets[view]);
}
