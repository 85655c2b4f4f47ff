"""TF Serving clients for exported models: REST `:predict` bodies and replies, gRPC requests.

A model exported by `keras_seq2seq.serving.export` has two signatures: `serving_default` (greedy,
input `inputs`) and `beam_search` (inputs `inputs`, `beam_width`, `n_best`). TF Serving's REST
API (`POST http://HOST:8501/v1/models/NAME[/versions/N]:predict`) takes two JSON layouts:

- row format: `{"signature_name": "serving_default", "instances": ["text", ...]}`, answered
  by `{"predictions": [{"outputs": "...", "scores": -0.1}, ...]}` (one object per input when
  the signature has several outputs);
- columnar format: `{"signature_name": "beam_search", "inputs": {"inputs": ["text", ...],
  "beam_width": 4, "n_best": 2}}`, answered by `{"outputs": {"outputs": [[...]], "scores":
  [[...]], ...}}`.

Scalar inputs such as `beam_width` only fit the columnar format, and TF Serving's REST parser
wants every named input there (it ignores the signature's defaults), so `beam_search` bodies are
always columnar and complete. Strings go as JSON strings; bytes that are not UTF-8 go as
`{"b64": ...}`, which TF Serving decodes for DT_STRING inputs. Errors come back as
`{"error": "..."}` with an HTTP error status.

gRPC requests (`PredictRequest`) need the optional `tensorflow-serving-api` package
(`pip install "keras-seq2seq[serving]"`); it is imported only when used. A gRPC request may omit
`beam_width`/`n_best`: the server fills them from the signature defaults.
"""

from __future__ import annotations

import base64
import contextlib
import json
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any

from keras_seq2seq.decoding.options import DecodeOptions, Hypothesis
from keras_seq2seq.decoding.ordering import in_input_order, length_order
from keras_seq2seq.validation import check_int

SERVING_SIGNATURE = "serving_default"
BEAM_SIGNATURE = "beam_search"
SCORE_SIGNATURE = "score"


class ServingError(ValueError):
    """TF Serving answered with an error, or not at all, or with a reply that is not understood."""


# -- REST bodies ----------------------------------------------------------------------------


def _json_string(text: str | bytes, index: int) -> Any:
    if isinstance(text, str):
        return text
    if isinstance(text, (bytes, bytearray)):
        try:
            return bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            return {"b64": base64.b64encode(bytes(text)).decode("ascii")}
    raise TypeError(
        f"`texts` must be a sequence of str or bytes. Item {index} is "
        f"{type(text).__name__}: {text!r}"
    )


def _check_texts(texts: Sequence[str | bytes]) -> list[Any]:
    if isinstance(texts, (str, bytes)) or not isinstance(texts, Sequence):
        raise TypeError(
            f"`texts` must be a sequence (list) of str or bytes. Received: {type(texts).__name__}"
        )
    return [_json_string(text, index) for index, text in enumerate(texts)]


def build_predict_body(
    texts: Sequence[str | bytes],
    *,
    signature_name: str = SERVING_SIGNATURE,
    beam_width: int | None = None,
    n_best: int | None = None,
    columnar: bool | None = None,
) -> dict[str, Any]:
    """Builds the JSON body of a TF Serving REST `:predict` request.

    Args:
        texts: sequence of str or bytes. The batch; bytes that are not UTF-8 are sent as
            `{"b64": ...}`.
        signature_name: str. Defaults to `"serving_default"`.
        beam_width: int or None. Adds the scalar input `beam_width` (for `beam_search`).
            Defaults to `None` (not sent).
        n_best: int or None. Adds the scalar input `n_best`. Defaults to `None`.
        columnar: bool or None. `True` for the `"inputs"` layout, `False` for `"instances"`.
            Defaults to `None`: columnar when a scalar input is sent, rows otherwise.

    Returns:
        dict, ready for `json.dumps`.

    Raises:
        TypeError: `texts` is not a sequence of str or bytes.
        ValueError: an option is out of range, or scalar inputs were asked in row format.

    Example:
    >>> build_predict_body(["abc"])
    {'signature_name': 'serving_default', 'instances': ['abc']}
    >>> build_predict_body(["abc"], signature_name="beam_search", beam_width=4)
    {'signature_name': 'beam_search', 'inputs': {'inputs': ['abc'], 'beam_width': 4}}
    """
    values = _check_texts(texts)
    if not isinstance(signature_name, str) or not signature_name:
        raise ValueError(f"`signature_name` must be a non-empty str. Received: {signature_name!r}")
    scalars = {}
    if beam_width is not None:
        scalars["beam_width"] = check_int("beam_width", beam_width)
    if n_best is not None:
        scalars["n_best"] = check_int("n_best", n_best)
    if columnar is None:
        columnar = bool(scalars)
    if not columnar:
        if scalars:
            raise ValueError(
                f"Scalar inputs {sorted(scalars)} cannot be sent in the row format: TF Serving "
                "batches every `instances` input along dimension 0. Use columnar=True."
            )
        return {"signature_name": signature_name, "instances": values}
    return {"signature_name": signature_name, "inputs": {"inputs": values, **scalars}}


def _decode_value(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode_value(item) for item in value]
    if isinstance(value, dict) and set(value) == {"b64"}:
        return base64.b64decode(value["b64"]).decode("utf-8", errors="replace")
    return value


def parse_predict_response(
    reply: Mapping[str, Any] | str | bytes, *, output_name: str = "outputs"
) -> dict[str, list[Any]]:
    """Parses the JSON reply of a REST `:predict` request into columns.

    Both layouts are accepted: `{"predictions": [...]}` (row format: one value, or one object
    of named outputs, per input) and `{"outputs": ...}` (columnar: an object of named outputs,
    or one value for a single-output signature). `{"b64": ...}` strings are decoded.

    Args:
        reply: dict, or the JSON text (str or bytes) of the reply.
        output_name: str. Name given to the output of a single-output reply, whose JSON does
            not name it. Defaults to `"outputs"`.

    Returns:
        dict from output name to a list with one entry per input (nested lists for
        `[batch, n_best]` outputs).

    Raises:
        ServingError: the reply holds an `"error"`, is not JSON, or has neither layout.

    Example:
    >>> parse_predict_response({"predictions": [{"outputs": "cba", "scores": -0.1}]})
    {'outputs': ['cba'], 'scores': [-0.1]}
    >>> parse_predict_response({"outputs": {"outputs": [["cba"]], "scores": [[-0.1]]}})
    {'outputs': [['cba']], 'scores': [[-0.1]]}
    """
    if isinstance(reply, (str, bytes, bytearray)):
        try:
            reply = json.loads(reply)
        except ValueError as error:
            raise ServingError(f"TF Serving reply is not JSON ({error}): {reply[:200]!r}") from None
    if not isinstance(reply, Mapping):
        raise ServingError(f"TF Serving reply must be a JSON object. Received: {reply!r:.200}")
    if "error" in reply:
        raise ServingError(f"TF Serving error: {reply['error']}")
    if "predictions" in reply:
        rows = reply["predictions"]
        if not isinstance(rows, list):
            raise ServingError(f"`predictions` must be a list. Received: {rows!r:.200}")
        if rows and all(isinstance(row, dict) and set(row) != {"b64"} for row in rows):
            names = list(rows[0])
            return {name: [_decode_value(row.get(name)) for row in rows] for name in names}
        return {output_name: [_decode_value(row) for row in rows]}
    if "outputs" in reply:
        outputs = reply["outputs"]
        if isinstance(outputs, dict) and set(outputs) != {"b64"}:
            return {name: _decode_value(value) for name, value in outputs.items()}
        return {output_name: _decode_value(outputs)}
    raise ServingError(
        f"TF Serving reply has neither `predictions` nor `outputs`: {dict(reply)!r:.200}"
    )


# -- REST client ----------------------------------------------------------------------------


def predict_url(model_url: str) -> str:
    """Returns the `:predict` URL of a model URL.

    Args:
        model_url: str. `http://HOST:8501/v1/models/NAME`, optionally with `/versions/N` or
            `/labels/LABEL`, or already ending in `:predict`.

    Returns:
        str.

    Raises:
        ValueError: not an http(s) URL of a TF Serving model.

    Example:
    >>> predict_url("http://localhost:8501/v1/models/dates")
    'http://localhost:8501/v1/models/dates:predict'
    """
    if not isinstance(model_url, str) or not model_url.startswith(("http://", "https://")):
        raise ValueError(
            "A TF Serving model URL looks like http://HOST:8501/v1/models/NAME. "
            f"Received: {model_url!r}"
        )
    url = model_url.rstrip("/")
    if url.endswith(":predict"):
        return url
    if "/v1/models/" not in url:
        raise ValueError(
            f"{model_url!r} is not a TF Serving model URL: expected "
            "http://HOST:8501/v1/models/NAME[/versions/N]."
        )
    return url + ":predict"


def rest_predict(model_url: str, body: Mapping[str, Any], *, timeout: float = 60.0) -> dict:
    """POSTs a `:predict` body to TF Serving and returns the parsed JSON reply.

    Args:
        model_url: str. See `predict_url`.
        body: dict. A body from `build_predict_body`.
        timeout: float. Seconds to wait for the reply. Defaults to `60.0`.

    Returns:
        dict, the JSON reply (still to be given to `parse_predict_response`).

    Raises:
        ServingError: the server is unreachable, timed out or answered with an error.

    Example:
    >>> rest_predict("http://localhost:8501/v1/models/dates",
    ...              build_predict_body(["3 mars 2021"]))  # doctest: +SKIP
    {'predictions': [{'outputs': '2021-03-03', 'scores': -0.01}]}
    """
    url = predict_url(model_url)
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode("utf-8"),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read()
    except urllib.error.HTTPError as error:
        detail = error.read().decode("utf-8", errors="replace")
        with contextlib.suppress(ValueError, AttributeError):
            detail = json.loads(detail).get("error", detail)
        raise ServingError(f"TF Serving at {url} answered HTTP {error.code}: {detail}") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise ServingError(
            f"Could not reach TF Serving at {url}: {reason}. Check that the model server runs "
            "with --rest_api_port and that the model name is right."
        ) from None
    try:
        return json.loads(text)
    except ValueError as error:
        raise ServingError(f"TF Serving at {url} did not answer JSON: {error}") from None


class RestTranslator:
    """Translates with a model served by TF Serving over REST, like `Translator.translate`.

    Greedy search uses `serving_default` (row format); `beam_width > 1` or `n_best > 1` uses
    `beam_search` (columnar format). Length penalty and maximum length are fixed when the
    model is exported and cannot be changed per request.

    Args:
        model_url: str. `http://HOST:8501/v1/models/NAME[/versions/N]`.
        timeout: float. Seconds to wait for each reply. Defaults to `60.0`.

    Raises:
        ValueError: `model_url` is not a TF Serving model URL.

    Example:
    >>> RestTranslator("http://localhost:8501/v1/models/dates").translate("3 mars 2021")
    ... # doctest: +SKIP
    '2021-03-03'
    """

    def __init__(self, model_url: str, *, timeout: float = 60.0):
        self.url = predict_url(model_url)
        self.timeout = float(timeout)

    def predict(self, body: Mapping[str, Any]) -> dict[str, list[Any]]:
        """Sends one body and returns its parsed columns (see `parse_predict_response`)."""
        return parse_predict_response(rest_predict(self.url, body, timeout=self.timeout))

    def translate(
        self,
        texts: str | Sequence[str],
        options: DecodeOptions | None = None,
        *,
        batch_size: int = 256,
        **option_kwargs: Any,
    ) -> Any:
        """Translates strings on the server.

        Args:
            texts: str or sequence of str.
            options: DecodeOptions, or None to give them as keywords. Only `beam_width` and
                `n_best` can be chosen per request: `beam_width=1` uses `serving_default`,
                more (or `n_best > 1`) uses `beam_search`. The other options were fixed when
                the model was exported and must keep their defaults.
            batch_size: int. Inputs per request. Defaults to `256`.
            **option_kwargs: DecodeOptions fields.

        Returns:
            Like `Translator.translate`: a str, a list of str, or lists of `Hypothesis`.

        Raises:
            TypeError: `texts` is not a str or a sequence of str, or an option has the wrong
                type.
            ValueError: an option is out of range or cannot be set per request.
            ServingError: the server failed (the message says how).
        """
        options = DecodeOptions.coerce(options, **option_kwargs)
        fixed = options.replace(beam_width=1, n_best=1) != DecodeOptions()
        if fixed:
            raise ValueError(
                "Only `beam_width` and `n_best` can be chosen per request to TF Serving; "
                "`length_penalty`, `max_length`, `max_length_ratio`, `no_repeat_ngram`, "
                "`coverage_penalty` and `min_score` are fixed when the model is exported "
                "(`keras-seq2seq export --length-penalty ...`), and sampling is not exported. "
                "Leave them out."
            )
        check_int("batch_size", batch_size)
        single = isinstance(texts, str)
        items = [texts] if single else list(texts)
        _check_texts(items)
        # Requests of similar lengths: the server decodes each as long as its longest text.
        order = length_order(items)
        ordered = [items[i] for i in order]
        in_length_order: list[Any] = []
        for begin in range(0, len(ordered), batch_size):
            batch = ordered[begin : begin + batch_size]
            in_length_order.extend(self._translate_batch(batch, options))
        results = in_input_order(order, in_length_order)
        return results[0] if single else results

    def _translate_batch(self, batch: list[str], options: DecodeOptions) -> list[Any]:
        if options.beam_width == 1:
            columns = self.predict(build_predict_body(batch))
            return self._column(columns, "outputs", len(batch))
        columns = self.predict(
            build_predict_body(
                batch,
                signature_name=BEAM_SIGNATURE,
                beam_width=options.beam_width,
                n_best=options.n_best,
            )
        )
        outputs = self._column(columns, "outputs", len(batch))
        scores = self._column(columns, "scores", len(batch))
        normalized = columns.get("normalized_scores", scores)
        accepted = columns.get("accepted") or [[True] * options.n_best for _ in batch]
        if options.n_best == 1:
            return [outputs[row][0] for row in range(len(batch))]
        return [
            [
                Hypothesis(
                    outputs[row][k],
                    float(scores[row][k]),
                    float(normalized[row][k]),
                    bool(accepted[row][k]),
                )
                for k in range(options.n_best)
            ]
            for row in range(len(batch))
        ]

    def _column(self, columns: dict[str, list[Any]], name: str, size: int) -> list[Any]:
        values = columns.get(name)
        if not isinstance(values, list) or len(values) != size:
            raise ServingError(
                f"TF Serving at {self.url} answered without `{name}` for {size} inputs "
                f"(got outputs {sorted(columns)}); is it a model exported by keras-seq2seq?"
            )
        return values


# -- gRPC -----------------------------------------------------------------------------------


def _serving_apis() -> Any:
    try:
        from tensorflow_serving.apis import predict_pb2
    except ImportError as error:
        raise ImportError(
            "gRPC requests need the `tensorflow-serving-api` package, which is not installed. "
            'Install it with: pip install "keras-seq2seq[serving]" (or use the REST helpers).'
        ) from error
    return predict_pb2


def build_grpc_request(
    model_name: str,
    texts: Sequence[str | bytes],
    *,
    signature_name: str = SERVING_SIGNATURE,
    beam_width: int | None = None,
    n_best: int | None = None,
    version: int | None = None,
) -> Any:
    """Builds a TF Serving gRPC `PredictRequest`.

    Args:
        model_name: str. The served model name (`--model_name` of the server).
        texts: sequence of str or bytes. The batch.
        signature_name: str. Defaults to `"serving_default"`.
        beam_width: int or None. Sent when given; `None` leaves it out, and TF Serving uses
            the exported default. Defaults to `None`.
        n_best: int or None. Like `beam_width`. Defaults to `None`.
        version: int or None. A model version; `None` is the newest. Defaults to `None`.

    Returns:
        tensorflow_serving.apis.predict_pb2.PredictRequest.

    Raises:
        ImportError: `tensorflow-serving-api` is not installed (the message says how to fix).
        TypeError: `texts` is not a sequence of str or bytes.
        ValueError: an option is out of range.

    Example:
    >>> request = build_grpc_request("dates", ["3 mars 2021"],
    ...                              signature_name="beam_search", beam_width=4)  # doctest: +SKIP
    >>> sorted(request.inputs)  # doctest: +SKIP
    ['beam_width', 'inputs']
    """
    _check_texts(texts)
    predict_pb2 = _serving_apis()
    import numpy as np
    import tensorflow as tf

    if not isinstance(model_name, str) or not model_name:
        raise ValueError(f"`model_name` must be a non-empty str. Received: {model_name!r}")
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = signature_name
    if version is not None:
        request.model_spec.version.value = check_int("version", version)
    values = np.array(
        [text.encode("utf-8") if isinstance(text, str) else bytes(text) for text in texts],
        dtype=object,
    ).reshape([len(texts)])
    request.inputs["inputs"].CopyFrom(tf.make_tensor_proto(values, dtype=tf.string))
    for name, value in (("beam_width", beam_width), ("n_best", n_best)):
        if value is not None:
            request.inputs[name].CopyFrom(
                tf.make_tensor_proto(check_int(name, value), dtype=tf.int32)
            )
    return request


def parse_grpc_response(response: Any) -> dict[str, Any]:
    """Converts a gRPC `PredictResponse` into numpy arrays (strings stay bytes).

    Args:
        response: tensorflow_serving.apis.predict_pb2.PredictResponse.

    Returns:
        dict from output name to numpy array.

    Example:
    >>> parse_grpc_response(stub.Predict(request, 10.0))["outputs"]  # doctest: +SKIP
    array([b'2021-03-03'], dtype=object)
    """
    import tensorflow as tf

    return {name: tf.make_ndarray(proto) for name, proto in response.outputs.items()}


def grpc_predict(target: str, request: Any, *, timeout: float = 60.0) -> dict[str, Any]:
    """Sends a `PredictRequest` to a TF Serving gRPC port and returns the parsed outputs.

    Args:
        target: str. `HOST:8500`.
        request: PredictRequest from `build_grpc_request`.
        timeout: float. Seconds. Defaults to `60.0`.

    Returns:
        dict from output name to numpy array (see `parse_grpc_response`).

    Raises:
        ImportError: `tensorflow-serving-api` is not installed.
        ServingError: the call failed (the gRPC status and details are included).

    Example:
    >>> grpc_predict("localhost:8500", build_grpc_request("dates", ["3 mars 2021"]))
    ... # doctest: +SKIP
    {'outputs': array([b'2021-03-03'], dtype=object), 'scores': array([-0.01], dtype=float32)}
    """
    _serving_apis()
    import grpc
    from tensorflow_serving.apis import prediction_service_pb2_grpc

    with grpc.insecure_channel(target) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        try:
            response = stub.Predict(request, timeout=timeout)
        except grpc.RpcError as error:
            raise ServingError(
                f"TF Serving gRPC call to {target} failed: {error.code().name}: {error.details()}"
            ) from None
    return parse_grpc_response(response)
