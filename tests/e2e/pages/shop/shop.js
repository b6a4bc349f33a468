document.querySelectorAll(".add").forEach(function (button) {
  button.addEventListener("click", function () {
    var basket = document.getElementById("basket");
    basket.textContent = "Basket: " + button.dataset.name;
    button.textContent = "Added";
  });
});
var form = document.getElementById("checkout");
if (form) {
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    document.getElementById("status").textContent = "Thank you, your order is placed.";
  });
}
