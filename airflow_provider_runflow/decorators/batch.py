"""``@task.runflow_batch``: a TaskFlow function builds the inputs; RunflowBatchOperator runs them."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import (
    SET_DURING_EXECUTION,
    DecoratedOperator,
    TaskDecorator,
    context_merge,
    determine_kwargs,
    task_decorator_factory,
)

from airflow_provider_runflow.operators.batch import RunflowBatchOperator

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context


class _RunflowBatchDecoratedOperator(DecoratedOperator, RunflowBatchOperator):
    """RunflowBatchOperator whose ``inputs`` are what the decorated function returns, on the worker.

    Every other argument is the operator's own, so there is one list of them to keep.
    """

    # ``inputs`` stays listed so the Rendered Templates tab shows what the function built
    # (written after execution); it is never rendered, as it is only set after rendering.
    template_fields: Sequence[str] = (*DecoratedOperator.template_fields, *RunflowBatchOperator.template_fields)
    template_fields_renderers: ClassVar[dict[str, str]] = {
        **DecoratedOperator.template_fields_renderers,
        **RunflowBatchOperator.template_fields_renderers,
    }
    custom_operator_name = "@task.runflow_batch"
    overwrite_rtif_after_execution = True

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        op_args: Collection[Any] | None = None,
        op_kwargs: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if "inputs" in kwargs:
            raise TypeError(
                f"@task.runflow_batch takes no inputs=: the inputs are what {python_callable.__name__}() returns"
            )
        super().__init__(
            python_callable=python_callable,
            op_args=op_args,
            op_kwargs=op_kwargs,
            inputs=SET_DURING_EXECUTION,
            **kwargs,
        )

    def execute(self, context: Context) -> Any:
        self.inputs = self._call_function(context)
        return super().execute(context)

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None, context: Context) -> Any:
        """Resumed from the triggerer, on a fresh copy of the task: build the inputs again first.

        Whatever method the operator resumes in may need them (re-runs of failed items do), as a
        classic operator has its upstream XCom again when its templates are rendered for the resume.
        """
        self.inputs = self._call_function(context)
        return super().resume_execution(next_method, next_kwargs, context)

    def _call_function(self, context: Context) -> Any:
        """The decorated function's return value, called with its arguments and the context keys it names."""
        context_merge(context, self.op_kwargs)
        return self.python_callable(*self.op_args, **determine_kwargs(self.python_callable, self.op_args, context))


def runflow_batch_task(
    python_callable: Callable[..., Any] | None = None,
    *,
    multiple_outputs: bool = False,
    **kwargs: Any,
) -> TaskDecorator:
    """``@task.runflow_batch(...)``: the decorated function returns the inputs of a Runflow batch run.

    Takes every argument of :class:`~airflow_provider_runflow.operators.batch.RunflowBatchOperator`
    except ``inputs``, with the same meaning and defaults, and any ``BaseOperator`` argument.
    Calling the decorated function in a DAG returns the task's ``XComArg``: the operator's
    entries, one per input and in input order, ready for a downstream ``.expand()``.

    The function runs on the worker at the start of each try, and again when a deferred task
    resumes, with its arguments (upstream XComs resolved) and any context keys it names. It
    must return the same inputs for the same arguments: the Idempotency-Keys are derived from
    them, so a retry then re-attaches to its batches instead of paying twice. Its return value
    is not rendered with Jinja.

    :param python_callable: the function that returns the list of inputs.
    :param multiple_outputs: push each key of the return value as its own XCom; only meaningful
        with ``output_path``, whose manifest is a dict. Not inferred from the function's return
        annotation, which types the inputs, not the task's result.
    """
    return task_decorator_factory(
        python_callable=python_callable,
        multiple_outputs=multiple_outputs,
        decorated_operator_class=_RunflowBatchDecoratedOperator,
        **kwargs,
    )
