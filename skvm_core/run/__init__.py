"""One run of a task on a target: the task model, graders, judge, work files, the run
itself and its failure evidence. bench, jit and optimize all stand on this layer."""
