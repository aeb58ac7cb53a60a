"""On-disk contracts, one module each (schema, reader, writer, version). Dataset file names live only here.

=================  =====================================================================================
module             contract
=================  =====================================================================================
``testset``        a test set: ``master.csv``, the split folder around it, the clip-id / folder-name rule
``annotations``    a geometry annotation folder (depth in metres, tracks, poses, static flags, meta.json)
``captions``       caption JSON files (every layout read by one reader) and caption records
``package``        a training package (videos, captions, annotations, train/val lists, manifest)
``run_records``    the generation record (``run.json``) and the method-run record (``method_run.json``)
``job_record``     the re-run rule of every batch job: settings / inputs keys, ``failed.json``, batch summaries
``results``        an evaluation results folder (method outputs, score files, feature cache, long CSV)
``clips``          finding clips: source videos, ``data cut`` output folders and their manifest, any source
``model_folder``   a PanoWorld model folder (``model_index.json``)
``training``       a training run folder and its record (``training_run.json``), the training cache layout
``drift_report``   the drift report of a long video (``panoworld eval extension``)
=================  =====================================================================================

Imports only ``panoworld.io``, ``panoworld.sphere`` and ``panoworld.errors`` (plus the standard library and
numpy); importing a module here does not import torch.
"""
